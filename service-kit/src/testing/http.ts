import { expect } from '@jest/globals';

/** What a test sees of an HTTP answer (a supertest response fits). */
export interface HttpAnswer {
  status: number;
  headers: Readonly<Record<string, unknown>>;
  body: unknown;
}

/**
 * Asserts the one error shape every service answers with: `status`, a JSON body of exactly
 * `{ error: { code, message, requestId, details? } }`, and the request id of the response header.
 */
export function expectErrorResponse(res: HttpAnswer, status: number, code: string): void {
  const body = res.body as { error?: Record<string, unknown> } | undefined;
  // Status and code first, together: a failure shows both at once.
  expect({ status: res.status, code: body?.error?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(body ?? {})).toEqual(['error']);
  const { details: _details, ...error } = body!.error!;
  expect(error).toEqual({ code, message: expect.any(String), requestId: res.headers['x-request-id'] });
}

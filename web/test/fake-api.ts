import type { TokenIssued, User } from '../src/api/types';

export const ada: User = { id: '00000000-0000-4000-8000-000000000001', username: 'ada', displayName: 'Ada', role: 'user', createdAt: '2026-01-01T00:00:00.000Z' };

export const issued = (token: string, user: User = ada, expiresIn = 900): TokenIssued => ({ accessToken: token, tokenType: 'Bearer', expiresIn, user });

export const json = (status: number, body: unknown): Response =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export const apiError = (status: number, code: string) => json(status, { error: { code, message: code, requestId: 'r' } });

/**
 * A stand-in for the API at the far end of fetch: routes answer from a table, and every call is
 * recorded with the token it carried.
 */
export function fakeServer(routes: Record<string, (init: RequestInit, calls: number, url: URL) => Response | Promise<Response>>) {
  const calls: { route: string; url: URL; authorization: string | null; headers: Headers }[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), 'https://board.test');
    const route = `${init.method ?? 'GET'} ${url.pathname}`;
    const headers = new Headers(init.headers);
    calls.push({ route, url, authorization: headers.get('authorization'), headers });
    const handler = routes[route];
    if (!handler) return apiError(404, 'NOT_FOUND');
    return handler(init, calls.filter((c) => c.route === route).length, url);
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

/** Web Locks as the spec has them for one name: callbacks run one after another. */
export function sharedLock(): Pick<LockManager, 'request'> {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request: ((_name: string, callback: () => Promise<unknown>) => {
      const run = tail.then(() => callback());
      tail = run.catch(() => undefined);
      return run;
    }) as LockManager['request'],
  };
}

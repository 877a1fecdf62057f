import type { ErrorBody } from './types';

/** An answer of the API that is not a success, in the API's error shape (or made to look like it). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field?: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static async from(response: Response): Promise<ApiError> {
    const body = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined;
    const error = body?.error;
    if (error && typeof error.code === 'string') return new ApiError(response.status, error.code, error.message, error.details);
    return new ApiError(response.status, 'HTTP_' + response.status, `The server answered ${response.status}`);
  }
}

/** 401 codes that say the access token is no good (as opposed to a wrong password, a used ticket). */
export const TOKEN_REFUSED = new Set(['UNAUTHORIZED', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'SESSION_REVOKED']);

export const errorText = (error: unknown): string =>
  error instanceof ApiError
    ? [error.message, ...error.details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message))].join(' — ')
    : 'Something went wrong; try again.';

import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { currentContext } from '../runtime/context';
import { isDependencyFailure } from '../events/dependency-failure';

export interface ErrorDetail {
  field?: string;
  location?: string;
  message: string;
}

/** An error meant for the client: its status, code and message are sent as they are. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: readonly ErrorDetail[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, details?: readonly ErrorDetail[]) =>
  new AppError(400, 'BAD_REQUEST', message, details);
export const validationFailed = (details: readonly ErrorDetail[]) =>
  new AppError(400, 'VALIDATION_FAILED', 'The request is not valid', details);
export const unauthorized = (message = 'Authentication is required', code = 'UNAUTHORIZED') =>
  new AppError(401, code, message);
export const forbidden = (message = 'You are not allowed to do this') => new AppError(403, 'FORBIDDEN', message);
export const notFound = (message = 'Not found') => new AppError(404, 'NOT_FOUND', message);
/** `value`, or a 404 saying there is no such `what` when there is none. */
export function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw notFound(`No such ${what}`);
  return value;
}

export const conflict = (message: string, code = 'CONFLICT') => new AppError(409, code, message);
export const serviceUnavailable = (message: string, retryAfterSeconds?: number) =>
  new AppError(
    503,
    'SERVICE_UNAVAILABLE',
    message,
    undefined,
    retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(retryAfterSeconds) },
  );

export interface ErrorBody {
  error: { code: string; message: string; details?: readonly ErrorDetail[]; requestId: string };
}

export function errorBody(code: string, message: string, details?: readonly ErrorDetail[]): ErrorBody {
  const requestId = currentContext()?.requestId ?? 'unknown';
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}), requestId } };
}

/** What body-parser and other http-errors style failures mean for the client. */
const CLIENT_ERROR_TYPES: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'MALFORMED_JSON', message: 'The request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The content encoding is not supported' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The charset is not supported' },
  'request.aborted': { status: 400, code: 'REQUEST_ABORTED', message: 'The request was aborted' },
  'request.size.invalid': { status: 400, code: 'BAD_REQUEST', message: 'The request body length does not match' },
};

interface HttpErrorLike {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  /** body-parser's limit, in bytes, on entity.too.large. */
  limit?: unknown;
}

export function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, status, statusCode, limit } = error as HttpErrorLike;
  if (type === 'entity.too.large' && typeof limit === 'number') {
    return new AppError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${limit} bytes`);
  }
  const known = typeof type === 'string' ? CLIENT_ERROR_TYPES[type] : undefined;
  if (known) return new AppError(known.status, known.code, known.message);
  const httpStatus = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500) {
    return new AppError(httpStatus, 'BAD_REQUEST', 'The request could not be processed');
  }
  return undefined;
}

export function sendError(res: Parameters<RequestHandler>[1], error: AppError): void {
  if (error.headers) res.set(error.headers);
  res.status(error.status).json(errorBody(error.code, error.message, error.details));
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(notFound(`No route for ${req.method} ${req.path}`));
};

/** Seconds a client is told to wait when a dependency (PostgreSQL, Redis) is unreachable. */
const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/**
 * The one place errors become responses: client errors as they are, an unreachable dependency as
 * 503 with Retry-After (an outage, worth retrying, not a bug), anything else as a logged 500.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      logger.warn({ err: error }, 'error after the response started; closing it');
      next(error);
      return;
    }
    const clientError = toAppError(error);
    if (clientError) {
      if (clientError.status >= 500) logger.warn({ err: error, code: clientError.code }, clientError.message);
      sendError(res, clientError);
      return;
    }
    if (isDependencyFailure(error)) {
      logger.warn({ err: error, method: req.method, path: req.path }, 'a dependency is unreachable');
      sendError(res, serviceUnavailable('The service is temporarily unavailable; try again later', DEPENDENCY_RETRY_AFTER_SECONDS));
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    res.status(500).json(errorBody('INTERNAL_ERROR', 'Something went wrong on our side'));
  };
}

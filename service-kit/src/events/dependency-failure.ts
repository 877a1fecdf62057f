/**
 * Tells an unreachable dependency from an event that fails on its own merits. A consumer waits
 * out the first (however long it lasts) and spends retry attempts only on the second: an outage
 * must never dead-letter an event that would have been handled a minute later.
 */

/** Socket-level failures: the server is down, restarting or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs that say "not now" rather than "never": connection exceptions (class 08),
 * shutdown and start-up (57P01-57P03), no free connection slot (53300), and conflicts that a
 * second attempt resolves (serialization failure, deadlock).
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);

/** What pg and ioredis throw, without a code, when their connection is gone or will not come. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is closed',
  "Stream isn't writeable",
  'Command timed out',
  'Reached the max retries per request limit',
];

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

export function isDependencyFailure(error: unknown, depth = 0): boolean {
  // Duck-typed rather than `instanceof Error`: errors made by Node's own modules come from
  // another realm under test runners that isolate modules (Jest), and fail that check.
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, name, message, cause, errors } = error as ErrorLike;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  if (name === 'MaxRetriesPerRequestError') return true;
  if (typeof message === 'string' && CONNECTION_MESSAGES.some((known) => message.includes(known))) return true;
  // Node wraps parallel connection attempts (IPv4 and IPv6) in an AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => isDependencyFailure(inner, depth + 1))) return true;
  return isDependencyFailure(cause, depth + 1);
}

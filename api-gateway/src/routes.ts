import type { Request } from 'express';

export type UpstreamName = 'auth' | 'user' | 'message' | 'realtime';

export interface RouteFamily {
  /** Also the metrics route label, so labels stay few whatever the URLs. */
  readonly prefix: string;
  readonly upstream: UpstreamName;
}

const ROUTE_FAMILIES: readonly RouteFamily[] = [
  { prefix: '/api/auth', upstream: 'auth' },
  { prefix: '/api/users', upstream: 'user' },
  { prefix: '/api/messages', upstream: 'message' },
  { prefix: '/api/channels', upstream: 'message' },
  { prefix: '/api/bookmarks', upstream: 'message' },
  { prefix: '/api/events', upstream: 'realtime' },
];

/** Routes that need no access token (the upstream checks what it needs: cookies, a ticket). */
const PUBLIC_ROUTES = new Set([
  'POST /api/auth/register',
  'POST /api/auth/login',
  'POST /api/auth/refresh',
  'POST /api/auth/logout',
  'GET /api/auth/.well-known/jwks.json',
  'HEAD /api/auth/.well-known/jwks.json',
  'GET /api/health',
  'HEAD /api/health',
]);

/** Visitors' reads: public while PUBLIC_READ is on; message-service serves them the `user` view. */
const PUBLIC_READS = new Set(['GET /api/messages', 'HEAD /api/messages', 'GET /api/channels', 'HEAD /api/channels']);

/**
 * The event stream: a native EventSource cannot send a token, so it comes with a ticket (which
 * realtime-service redeems), or, while PUBLIC_READ is on, with neither, as a visitor.
 */
const STREAM_ROUTES = new Set(['GET /api/events', 'HEAD /api/events']);

/**
 * The path as the upstreams' Express routers will match it (case-insensitive, trailing slash
 * optional). Every decision here uses it, so `/api/auth/LOGIN/` cannot slip past the login limits
 * while still reaching the login handler. The path itself is forwarded unchanged.
 */
export function routingPath(req: Pick<Request, 'path'>): string {
  const path = req.path.toLowerCase().replace(/\/+$/, '');
  return path === '' ? '/' : path;
}

export function routeFamilyOf(path: string): RouteFamily | undefined {
  return ROUTE_FAMILIES.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
}

/** Whether a request that carries no access token may go on to its upstream. */
export function passesWithoutToken(req: Pick<Request, 'method' | 'path' | 'query'>, publicRead: boolean): boolean {
  const route = `${req.method} ${routingPath(req)}`;
  if (PUBLIC_ROUTES.has(route)) return true;
  if (STREAM_ROUTES.has(route)) return publicRead || req.query.ticket !== undefined;
  return publicRead && PUBLIC_READS.has(route);
}

export const isCredentialAttempt = (method: string, path: string): boolean =>
  method === 'POST' && (path === '/api/auth/login' || path === '/api/auth/register');

export const isEventStream = (method: string, path: string): boolean => method === 'GET' && path === '/api/events';

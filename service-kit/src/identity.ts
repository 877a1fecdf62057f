import type { RequestHandler } from 'express';
import { forbidden, unauthorized } from './errors';
import { isUuid } from './validation';

export const ROLES = ['user', 'member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The lower of two roles (user < member < admin). */
export const lowerRole = (a: Role, b: Role): Role => (ROLES.indexOf(a) <= ROLES.indexOf(b) ? a : b);

/** Whether `role` may see who wrote other people's messages. */
export const seesAuthors = (role: Role): boolean => role === 'member' || role === 'admin';

/**
 * The identity headers the gateway sets after verifying an access token. Services behind the
 * gateway trust them and nothing else; the gateway strips any a client sends.
 */
export const IDENTITY_HEADERS = {
  userId: 'x-user-id',
  role: 'x-user-role',
  sessionId: 'x-session-id',
} as const;

export interface Identity {
  userId: string;
  role: Role;
  sessionId: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireIdentity` from the gateway's headers. */
      identity?: Identity;
    }
  }
}

export function identityFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Identity | undefined {
  const userId = headers[IDENTITY_HEADERS.userId];
  const role = headers[IDENTITY_HEADERS.role];
  const sessionId = headers[IDENTITY_HEADERS.sessionId];
  if (typeof userId !== 'string' || !isUuid(userId)) return undefined;
  if (!isRole(role)) return undefined;
  if (typeof sessionId !== 'string' || !isUuid(sessionId)) return undefined;
  return { userId: userId.toLowerCase(), role, sessionId: sessionId.toLowerCase() };
}

export function identityHeaders(identity: Identity): Record<string, string> {
  return {
    [IDENTITY_HEADERS.userId]: identity.userId,
    [IDENTITY_HEADERS.role]: identity.role,
    [IDENTITY_HEADERS.sessionId]: identity.sessionId,
  };
}

/** 401 unless the gateway vouched for the caller. */
export const requireIdentity: RequestHandler = (req, _res, next) => {
  const identity = identityFromHeaders(req.headers);
  if (!identity) {
    next(unauthorized());
    return;
  }
  req.identity = identity;
  next();
};

/** 403 unless the caller has one of `roles` (run after requireIdentity). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    next(req.identity && roles.includes(req.identity.role) ? undefined : forbidden());
  };
}

/** The caller's identity in a handler that runs after requireIdentity. */
export function callerOf(req: { identity?: Identity }): Identity {
  if (!req.identity) throw unauthorized();
  return req.identity;
}

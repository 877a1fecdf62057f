import type { RequestHandler } from 'express';
import { identityFromHeaders, sendsIdentity, type Identity } from '../contracts/identity';
import type { Role } from '../contracts/roles';
import { forbidden, unauthorized } from './errors';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireIdentity` or `optionalIdentity` from the gateway's headers. */
      identity?: Identity;
    }
  }
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

/**
 * For routes a visitor (no account) may read: the caller the gateway vouched for, when it sent
 * identity headers, else no identity at all. Headers that are there but do not make an identity
 * (a forged role, a missing session) are still 401: only their complete absence means a visitor.
 * Whether visitors may read at all is the gateway's decision (it refuses them when public reads
 * are off).
 */
export const optionalIdentity: RequestHandler = (req, res, next) => {
  if (!sendsIdentity(req.headers)) {
    next();
    return;
  }
  requireIdentity(req, res, next);
};

/** 403 unless the caller has one of `roles` (run after requireIdentity). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    next(req.identity && roles.includes(req.identity.role) ? undefined : forbidden());
  };
}

/** The caller's identity, or undefined for a visitor, in a handler that runs after optionalIdentity. */
export const viewerOf = (req: { identity?: Identity }): Identity | undefined => req.identity;

/** The caller's identity in a handler that runs after requireIdentity. */
export function callerOf(req: { identity?: Identity }): Identity {
  if (!req.identity) throw unauthorized();
  return req.identity;
}

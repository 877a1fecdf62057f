import type { RequestHandler } from 'express';
import { identityFromHeaders, type Identity } from '../contracts/identity';
import type { Role } from '../contracts/roles';
import { forbidden, unauthorized } from './errors';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireIdentity` from the gateway's headers. */
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

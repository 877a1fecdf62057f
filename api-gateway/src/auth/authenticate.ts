import type { RequestHandler } from 'express';
import { AppError, type Counter, type RevocationCheck } from '@board/service-kit';
import { lowerRole } from '@board/service-kit/contracts';
import { passesWithoutToken } from '../routes';
import type { TokenVerifier } from './token-verifier';

export interface AuthenticateDeps {
  verifier: TokenVerifier;
  /** Never throws: decides itself what a Redis outage means. */
  revocations: RevocationCheck;
  rejections: Counter<'code'>;
  /** PUBLIC_READ: visitors may read messages and channels and watch the stream without a token. */
  publicRead: boolean;
}

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

const unauthenticated = (code: string, message: string) =>
  new AppError(401, code, message, undefined, { 'WWW-Authenticate': code === 'UNAUTHORIZED' ? 'Bearer' : 'Bearer error="invalid_token"' });

/**
 * Verifies the Bearer token and refuses revoked sessions. A protected route needs a valid token;
 * a public one (visitors' reads among them while PUBLIC_READ is on) passes without, and then
 * without identity headers, but a token sent there must still be valid, so the upstream never
 * sees an identity nobody verified. A token never acts with more than the user's current
 * role: one issued before a demotion is held to the lower role at once (a refresh brings a token
 * that carries it).
 */
export function authenticate(deps: AuthenticateDeps): RequestHandler {
  return async (req, _res, next) => {
    try {
      const header = req.headers.authorization;
      if (header === undefined) {
        if (!passesWithoutToken(req, deps.publicRead)) throw unauthenticated('UNAUTHORIZED', 'Authentication is required');
        next();
        return;
      }
      const token = BEARER.exec(header)?.[1];
      if (!token) throw unauthenticated('INVALID_TOKEN', 'Send the access token as "Authorization: Bearer <token>"');
      const identity = await deps.verifier.verify(token);
      const { revoked, role } = await deps.revocations.standing(identity.sessionId, identity.userId);
      if (revoked) throw unauthenticated('SESSION_REVOKED', 'The session has ended; log in again');
      req.identity = role ? { ...identity, role: lowerRole(identity.role, role) } : identity;
      next();
    } catch (error) {
      if (error instanceof AppError && error.status === 401) deps.rejections.labels(error.code).inc();
      throw error;
    }
  };
}

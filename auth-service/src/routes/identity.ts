import type { RequestHandler } from 'express';
import { callerOf, requireIdentity } from '@board/service-kit';
import type { SessionManager } from '../domain/sessions';

/** 401 unless the gateway's identity names a session that is still live in this service's database. */
const requireLiveSession =
  (sessions: SessionManager): RequestHandler =>
  async (req, _res, next) => {
    await sessions.requireLive(callerOf(req));
    next();
  };

/** The middleware of every route that acts for a signed-in caller. */
export const identified = (sessions: SessionManager): RequestHandler[] => [requireIdentity, requireLiveSession(sessions)];

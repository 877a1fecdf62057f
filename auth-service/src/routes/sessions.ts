import { Router } from 'express';
import { param } from 'express-validator';
import { callerOf, notFound, validate, validated } from '@board/service-kit';
import type { SessionManager } from '../domain/sessions';
import { identified } from './identity';
import { clearSessionCookies } from './cookies';

/** The caller's devices: list them, and sign one out. */
export function sessionsRouter(sessions: SessionManager): Router {
  const router = Router();

  router.get('/api/auth/sessions', ...identified(sessions), async (req, res) => {
    res.set('Cache-Control', 'no-store').json({ sessions: await sessions.list(callerOf(req)) });
  });

  router.delete(
    '/api/auth/sessions/:id',
    ...identified(sessions),
    validate(param('id').isUUID().withMessage('must be a session id')),
    async (req, res) => {
      const caller = callerOf(req);
      const { id } = validated<{ id: string }>(req);
      const sessionId = id.toLowerCase();
      // Someone else's session answers like a missing one, so ids reveal nothing.
      if (!(await sessions.revoke(caller, sessionId))) throw notFound('No such session');
      if (sessionId === caller.sessionId) clearSessionCookies(res);
      res.status(204).end();
    },
  );

  return router;
}

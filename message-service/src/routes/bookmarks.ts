import { Router } from 'express';
import { callerOf, cursorQuery, limitQuery, requireIdentity, requireRole, uuidParam, validate, validated, type PagePosition } from '@board/service-kit';
import type { Bookmarks } from '../domain/bookmarks';
import { presentMessage } from '../domain/message';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './validators';

/** /api/bookmarks: a member's or an admin's own bookmarks; nobody can name anyone else's. */
export function bookmarksRouter(bookmarks: Bookmarks): Router {
  const router = Router();
  router.use('/api/bookmarks', requireIdentity, requireRole('member', 'admin'));

  router.get('/api/bookmarks', validate(cursorQuery('before'), limitQuery(MAX_PAGE_SIZE)), async (req, res) => {
    const caller = callerOf(req);
    const { before, limit = DEFAULT_PAGE_SIZE } = validated<{ before?: PagePosition; limit?: number }>(req);
    const page = await bookmarks.page(caller, before, limit);
    res.json({ messages: page.messages.map((message) => presentMessage(message, caller)), nextCursor: page.nextCursor });
  });

  router.put('/api/bookmarks/:messageId', validate(uuidParam('messageId')), async (req, res) => {
    await bookmarks.add(callerOf(req), validated<{ messageId: string }>(req).messageId);
    res.status(204).end();
  });

  router.delete('/api/bookmarks/:messageId', validate(uuidParam('messageId')), async (req, res) => {
    await bookmarks.remove(callerOf(req), validated<{ messageId: string }>(req).messageId);
    res.status(204).end();
  });

  return router;
}

import { Router } from 'express';
import {
  callerOf,
  cursorQuery,
  limitQuery,
  onlyFields,
  optionalIdentity,
  requireIdentity,
  requireRole,
  uuidParam,
  validate,
  validated,
  viewerOf,
  type PagePosition,
} from '@board/service-kit';
import { DEFAULT_CHANNEL } from '@board/service-kit/contracts';
import type { MessageBoard } from '../domain/board';
import { presentMessage } from '../domain/message';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, channelBody, channelQuery, messageBody } from './validators';

/**
 * /api/messages: reading is open to visitors (no identity: the `user` view of a stranger); every
 * write needs the gateway's identity, liking a member's or an admin's. What a caller sees depends
 * on their role.
 */
export function messagesRouter(board: MessageBoard): Router {
  const router = Router();
  const likers = [requireIdentity, requireRole('member', 'admin'), validate(uuidParam())];

  router.get('/api/messages', optionalIdentity, validate(channelQuery(), cursorQuery('before'), limitQuery(MAX_PAGE_SIZE)), async (req, res) => {
    const viewer = viewerOf(req);
    const {
      channel = DEFAULT_CHANNEL,
      before,
      limit = DEFAULT_PAGE_SIZE,
    } = validated<{ channel?: string; before?: PagePosition; limit?: number }>(req);
    const page = await board.page(channel, viewer, before, limit);
    res.json({ messages: page.messages.map((message) => presentMessage(message, viewer)), nextCursor: page.nextCursor });
  });

  router.post('/api/messages', requireIdentity, validate(onlyFields('channel', 'body'), channelBody(), messageBody()), async (req, res) => {
    const caller = callerOf(req);
    const { channel = DEFAULT_CHANNEL, body } = validated<{ channel?: string; body: string }>(req);
    res.status(201).json({ message: presentMessage(await board.post(caller, channel, body), caller) });
  });

  router.patch('/api/messages/:id', requireIdentity, validate(uuidParam(), onlyFields('body'), messageBody()), async (req, res) => {
    const caller = callerOf(req);
    const { id, body } = validated<{ id: string; body: string }>(req);
    res.json({ message: presentMessage(await board.edit(id, caller, body), caller) });
  });

  router.delete('/api/messages/:id', requireIdentity, validate(uuidParam()), async (req, res) => {
    const { id } = validated<{ id: string }>(req);
    await board.remove(id, callerOf(req));
    res.status(204).end();
  });

  router.put('/api/messages/:id/like', ...likers, async (req, res) => {
    const caller = callerOf(req);
    const { id } = validated<{ id: string }>(req);
    res.json({ message: presentMessage(await board.like(id, caller), caller) });
  });

  router.delete('/api/messages/:id/like', ...likers, async (req, res) => {
    const caller = callerOf(req);
    const { id } = validated<{ id: string }>(req);
    res.json({ message: presentMessage(await board.unlike(id, caller), caller) });
  });

  return router;
}

import { Router } from 'express';
import {
  callerOf,
  cursorQuery,
  limitQuery,
  onlyFields,
  requireIdentity,
  uuidParam,
  validate,
  validated,
  type PagePosition,
} from '@board/service-kit';
import { DEFAULT_CHANNEL } from '@board/service-kit/contracts';
import type { MessageBoard } from '../domain/board';
import { presentMessage } from '../domain/message';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, channelBody, channelQuery, messageBody } from './validators';

/** /api/messages: every route needs the gateway's identity; what a caller sees depends on their role. */
export function messagesRouter(board: MessageBoard): Router {
  const router = Router();
  router.use('/api/messages', requireIdentity);

  router.get('/api/messages', validate(channelQuery(), cursorQuery('before'), limitQuery(MAX_PAGE_SIZE)), async (req, res) => {
    const caller = callerOf(req);
    const {
      channel = DEFAULT_CHANNEL,
      before,
      limit = DEFAULT_PAGE_SIZE,
    } = validated<{ channel?: string; before?: PagePosition; limit?: number }>(req);
    const page = await board.page(channel, before, limit);
    res.json({ messages: page.messages.map((message) => presentMessage(message, caller)), nextCursor: page.nextCursor });
  });

  router.post('/api/messages', validate(onlyFields('channel', 'body'), channelBody(), messageBody()), async (req, res) => {
    const caller = callerOf(req);
    const { channel = DEFAULT_CHANNEL, body } = validated<{ channel?: string; body: string }>(req);
    res.status(201).json({ message: presentMessage(await board.post(caller, channel, body), caller) });
  });

  router.patch('/api/messages/:id', validate(uuidParam(), onlyFields('body'), messageBody()), async (req, res) => {
    const caller = callerOf(req);
    const { id, body } = validated<{ id: string; body: string }>(req);
    res.json({ message: presentMessage(await board.edit(id, caller, body), caller) });
  });

  router.delete('/api/messages/:id', validate(uuidParam()), async (req, res) => {
    const { id } = validated<{ id: string }>(req);
    await board.remove(id, callerOf(req));
    res.status(204).end();
  });

  return router;
}

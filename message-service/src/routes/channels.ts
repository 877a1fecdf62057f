import { Router } from 'express';
import { optionalIdentity } from '@board/service-kit';
import type { MessageBoard } from '../domain/board';

/** /api/channels: the channels that hold messages, most recently active first; visitors may read it. */
export function channelsRouter(board: MessageBoard): Router {
  const router = Router();
  router.get('/api/channels', optionalIdentity, async (_req, res) => {
    const channels = await board.channels();
    res.json({
      channels: channels.map(({ name, messageCount, lastMessageAt }) => ({ name, messageCount, lastMessageAt: lastMessageAt.toISOString() })),
    });
  });
  return router;
}

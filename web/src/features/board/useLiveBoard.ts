import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Role, User } from '../../api/types';
import { useBoard } from '../../app/context';
import { updateBookmarks } from '../bookmarks/bookmarks';
import { LiveStream, type LiveEventType, type LiveStatus } from '../../live/stream';
import {
  addMessage,
  authorOf,
  fromLive,
  mergeNewest,
  messagesKey,
  removeAuthor,
  removeMessage,
  renameAuthor,
  replaceMessage,
  setLikes,
  type LiveMessage,
  type Pages,
} from './cache';

/**
 * Keeps the channel's cached pages in step with the live stream. A message event is applied at
 * once; when it names an author the pages do not know yet, the newest page is fetched again so
 * the author shows as the API shows it.
 */
export function useLiveBoard(channel: string, user: User | undefined): LiveStatus {
  const { api, session } = useBoard();
  const client = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const userId = user?.id;

  useEffect(() => {
    const key = messagesKey(channel);
    const update = (change: (pages: Pages) => Pages) => client.setQueryData<Pages>(key, (pages) => (pages ? change(pages) : pages));
    let newestTimer: ReturnType<typeof setTimeout> | undefined;
    const fetchNewest = () => {
      clearTimeout(newestTimer);
      newestTimer = setTimeout(() => {
        void api.messages(channel).then((newest) => update((pages) => mergeNewest(pages, newest)), () => undefined);
      }, 200);
    };
    const onMessage = (live: LiveMessage, created: boolean) => {
      if (live.channel !== channel) return;
      const { author, known } = authorOf(client.getQueryData<Pages>(key), live.authorId);
      const message = fromLive(live, author);
      update((pages) => (created ? addMessage(pages, message) : replaceMessage(pages, message)));
      if (!known) fetchNewest();
    };
    const onEvent = (type: LiveEventType, data: unknown) => {
      const event = data as Record<string, unknown>;
      switch (type) {
        case 'message.created':
        case 'message.updated':
          onMessage(data as LiveMessage, type === 'message.created');
          if (type === 'message.created') void client.invalidateQueries({ queryKey: ['channels'] });
          break;
        case 'message.deleted':
          update((pages) => removeMessage(pages, String(event.id)));
          updateBookmarks(client, (pages) => removeMessage(pages, String(event.id)));
          break;
        case 'message.likes_changed':
          if (event.channel === channel) update((pages) => setLikes(pages, String(event.id), Number(event.likeCount)));
          break;
        case 'user.deleted':
          update((pages) => removeAuthor(pages, String(event.id)));
          updateBookmarks(client, (pages) => removeAuthor(pages, String(event.id)));
          void client.invalidateQueries({ queryKey: ['users'] });
          break;
        case 'user.registered':
          void client.invalidateQueries({ queryKey: ['users'] });
          break;
        case 'user.updated':
          update((pages) => renameAuthor(pages, data as { id: string; username: string; displayName: string }));
          break;
        case 'user.role_changed':
          // A token that carries the new role, then the pages as that role sees them.
          if (event.id === userId) {
            void session.reload(event.role as Role).then(() => client.invalidateQueries({ queryKey: ['messages'] }), () => undefined);
          }
          break;
      }
    };
    const stream = new LiveStream({
      channels: [channel],
      // A visitor's stream has no ticket: the server gives it the `user` view.
      ticket: userId === undefined ? undefined : async () => (await api.streamTicket()).ticket,
      onEvent,
      onResync: () => void client.invalidateQueries({ queryKey: key }),
      onStatus: setStatus,
    });
    stream.start();
    return () => {
      clearTimeout(newestTimer);
      stream.stop();
    };
  }, [api, channel, client, session, userId]);

  return status;
}

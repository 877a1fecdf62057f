import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, errorText } from '../../api/errors';
import type { Message, User } from '../../api/types';
import { useBoard } from '../../app/context';
import { link, navigate } from '../../app/router';
import { updateBookmarks, useBookmarkToggle } from '../bookmarks/bookmarks';
import { addMessage, messagesKey, removeMessage, replaceMessage, type Pages } from './cache';
import { MessageItem, type MessageActions } from './MessageItem';
import { useLiveBoard } from './useLiveBoard';
import { useInfiniteScroll } from '../../app/useInfiniteScroll';

const STATUS_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline, retrying' } as const;

/** One channel's messages, live; with no `user`, as a visitor reads them (no post box, no actions). */
export function BoardScreen({ channel, user }: { channel: string; user: User | undefined }) {
  const { api } = useBoard();
  const client = useQueryClient();
  const key = messagesKey(channel);
  const status = useLiveBoard(channel, user);
  const query = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) => api.messages(channel, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const update = (change: (pages: Pages) => Pages) => client.setQueryData<Pages>(key, (pages) => (pages ? change(pages) : pages));
  const bookmarks = useBookmarkToggle(user);

  const actions: MessageActions = {
    edit: async (id, body) => {
      const { message } = await api.editMessage(id, body);
      update((pages) => replaceMessage(pages, message));
    },
    remove: async (id) => {
      await api.deleteMessage(id);
      update((pages) => removeMessage(pages, id));
      updateBookmarks(client, (pages) => removeMessage(pages, id));
    },
    like: async (id, liked) => {
      const { message } = await (liked ? api.like(id) : api.unlike(id));
      update((pages) => replaceMessage(pages, message));
      updateBookmarks(client, (pages) => replaceMessage(pages, message));
    },
    bookmark: bookmarks.toggle,
  };

  // Public reads turned off: a visitor is asked to log in.
  const refused = !user && query.error instanceof ApiError && query.error.status === 401;
  useEffect(() => {
    if (refused) navigate(`/login?next=${encodeURIComponent(`/c/${channel}`)}`, true);
  }, [refused, channel]);

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  const sentinel = useInfiniteScroll(query);

  const messages = query.data?.pages.flatMap((page) => page.messages) ?? [];
  return (
    <section aria-labelledby="board-title">
      <div className="board-head">
        <h1 id="board-title">#{channel}</h1>
        <p className={`live live-${status}`} role="status" data-testid="live-status">
          {STATUS_TEXT[status]}
        </p>
      </div>
      {user ? (
        <Composer
          channel={channel}
          onPosted={(message) => update((pages) => addMessage(pages, message))}
          post={(body) => api.postMessage(channel, body).then((r) => r.message)}
        />
      ) : (
        <p className="call-to-action">
          <a href={`/login?next=${encodeURIComponent(`/c/${channel}`)}`} onClick={link(`/login?next=${encodeURIComponent(`/c/${channel}`)}`)}>
            Log in
          </a>{' '}
          or{' '}
          <a href="/register" onClick={link('/register')}>
            register
          </a>{' '}
          to post, like and see who wrote what.
        </p>
      )}
      {query.isPending && <p>Loading messages…</p>}
      {query.isError && (
        <p role="alert" className="error">
          {errorText(query.error)}
        </p>
      )}
      {query.isSuccess && messages.length === 0 && <p>{user ? 'No messages yet. Say something.' : 'No messages yet.'}</p>}
      <div className="messages" aria-label={`Messages in #${channel}`} role="feed" aria-busy={query.isFetching}>
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} user={user} actions={user ? actions : undefined} bookmarked={bookmarks.isBookmarked(message.id)} />
        ))}
      </div>
      <div ref={sentinel} />
      {hasNextPage && (
        <button type="button" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
          {isFetchingNextPage ? 'Loading…' : 'Load older messages'}
        </button>
      )}
    </section>
  );
}

function Composer({ channel, post, onPosted }: { channel: string; post: (body: string) => Promise<Message>; onPosted: (m: Message) => void }) {
  const [body, setBody] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (body.trim() === '' || busy) return;
    setBusy(true);
    try {
      onPosted(await post(body));
      setBody('');
      setError(undefined);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="composer" onSubmit={(e) => void submit(e)}>
      <label htmlFor="composer">Message to #{channel}</label>
      <textarea
        id="composer"
        value={body}
        maxLength={2000}
        rows={3}
        onChange={(e) => setBody(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit();
        }}
        aria-describedby="composer-hint"
      />
      <p id="composer-hint" className="hint">
        Ctrl+Enter posts.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy || body.trim() === ''}>
        Post
      </button>
    </form>
  );
}

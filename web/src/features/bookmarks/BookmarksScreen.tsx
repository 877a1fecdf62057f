import { useQueryClient } from '@tanstack/react-query';
import { errorText } from '../../api/errors';
import type { User } from '../../api/types';
import { useBoard } from '../../app/context';
import { removeMessage, replaceMessage } from '../board/cache';
import { MessageItem, type MessageActions } from '../board/MessageItem';
import { updateBookmarks, useBookmarkToggle, useBookmarks } from './bookmarks';
import { useInfiniteScroll } from '../../app/useInfiniteScroll';

/** My bookmarked messages, newest bookmark first, each as its channel shows it to me. */
export function BookmarksScreen({ user }: { user: User }) {
  const { api } = useBoard();
  const client = useQueryClient();
  // Fetched afresh on every visit: a message deleted since leaves the list (the API drops it).
  const query = useBookmarks(user, 'always');
  const bookmarks = useBookmarkToggle(user);

  const actions: MessageActions = {
    edit: async (id, body) => {
      const { message } = await api.editMessage(id, body);
      updateBookmarks(client, (pages) => replaceMessage(pages, message));
      void client.invalidateQueries({ queryKey: ['messages', message.channel] });
    },
    remove: async (id) => {
      await api.deleteMessage(id);
      updateBookmarks(client, (pages) => removeMessage(pages, id));
      void client.invalidateQueries({ queryKey: ['messages'] });
    },
    like: async (id, liked) => {
      const { message } = await (liked ? api.like(id) : api.unlike(id));
      updateBookmarks(client, (pages) => replaceMessage(pages, message));
    },
    bookmark: bookmarks.toggle,
  };

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  const sentinel = useInfiniteScroll(query);

  const messages = query.data?.pages.flatMap((page) => page.messages) ?? [];
  return (
    <section aria-labelledby="bookmarks-title">
      <h1 id="bookmarks-title">Bookmarks</h1>
      {query.isPending && <p>Loading bookmarks…</p>}
      {query.isError && (
        <p role="alert" className="error">
          {errorText(query.error)}
        </p>
      )}
      {query.isSuccess && messages.length === 0 && <p>No bookmarks yet. Press “Bookmark” on a message to keep it here.</p>}
      <div className="messages" aria-label="Bookmarked messages" role="feed" aria-busy={query.isFetching}>
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} user={user} actions={actions} bookmarked={bookmarks.isBookmarked(message.id)} showChannel />
        ))}
      </div>
      <div ref={sentinel} />
      {hasNextPage && (
        <button type="button" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
          {isFetchingNextPage ? 'Loading…' : 'Load older bookmarks'}
        </button>
      )}
    </section>
  );
}

import { useInfiniteQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { Message, User } from '../../api/types';
import { useBoard } from '../../app/context';
import { addMessage, removeMessage, type Pages } from '../board/cache';

export const bookmarksKey = ['bookmarks'] as const;

/** Changes the cached bookmark pages, if any are cached. */
export const updateBookmarks = (client: QueryClient, change: (pages: Pages) => Pages): void => {
  client.setQueryData<Pages>(bookmarksKey, (pages) => (pages ? change(pages) : pages));
};

/**
 * My bookmarks, newest bookmark first, a page at a time on the cursor. Members and admins only;
 * the board reads the loaded pages to know which messages carry my bookmark (the API's messages
 * do not say), so a bookmark older than the pages loaded shows unmarked until they are.
 */
export function useBookmarks(user: User | undefined, refetchOnMount: boolean | 'always' = true) {
  const { api } = useBoard();
  return useInfiniteQuery({
    queryKey: bookmarksKey,
    queryFn: ({ pageParam }) => api.bookmarks(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled: user !== undefined && user.role !== 'user',
    refetchOnMount,
  });
}

/** Whether a message is bookmarked, and the toggle that changes it (the cache follows the API's answer). */
export function useBookmarkToggle(user: User | undefined) {
  const { api } = useBoard();
  const client = useQueryClient();
  const query = useBookmarks(user);
  const ids = new Set(query.data?.pages.flatMap((page) => page.messages.map((m) => m.id)) ?? []);
  const toggle = async (message: Message, on: boolean): Promise<void> => {
    if (on) {
      await api.bookmark(message.id);
      updateBookmarks(client, (pages) => addMessage(pages, message));
    } else {
      await api.unbookmark(message.id);
      updateBookmarks(client, (pages) => removeMessage(pages, message.id));
    }
  };
  return { isBookmarked: (id: string) => ids.has(id), toggle };
}

import { sortTimeSql, type PagePosition, type Queryable } from '@board/service-kit';
import { messageColumns, toMessage, type MessageRow, type PagedMessage } from './messages';

/** Bookmarks the message for the user; false when it already was (the first time stays). */
export async function addBookmark(db: Queryable, userId: string, messageId: string): Promise<boolean> {
  const { rowCount } = await db.query('INSERT INTO bookmarks (user_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, messageId]);
  return rowCount === 1;
}

export async function removeBookmark(db: Queryable, userId: string, messageId: string): Promise<void> {
  await db.query('DELETE FROM bookmarks WHERE user_id = $1 AND message_id = $2', [userId, messageId]);
}

export async function removeBookmarksBy(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM bookmarks WHERE user_id = $1', [userId]);
}

/** Whether the message exists, held so that it cannot be deleted before the transaction ends. */
export async function holdMessage(db: Queryable, messageId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM messages WHERE id = $1 FOR KEY SHARE', [messageId]);
  return rowCount === 1;
}

const NEWEST_BOOKMARK_FIRST = 'ORDER BY b.created_at DESC, b.message_id DESC';
const bookmarkedMessages = (where: string) => `
  SELECT ${messageColumns('$1')}, ${sortTimeSql('b.created_at')} AS sort_time
  FROM bookmarks b JOIN messages m ON m.id = b.message_id LEFT JOIN authors a ON a.id = m.author_id
  WHERE b.user_id = $1 ${where} ${NEWEST_BOOKMARK_FIRST}`;
const LATEST_BOOKMARKS = `${bookmarkedMessages('')} LIMIT $2`;
const BOOKMARKS_BEFORE = `${bookmarkedMessages('AND (b.created_at, b.message_id) < ($2::timestamptz, $3::uuid)')} LIMIT $4`;

/**
 * Up to `limit` of the user's bookmarked messages, newest bookmark first, bookmarked before
 * `before` when given. Each row's sort time is when it was bookmarked, so cursors page by that.
 */
export async function pageOfBookmarks(
  db: Queryable,
  userId: string,
  before: PagePosition | undefined,
  limit: number,
): Promise<PagedMessage[]> {
  const { rows } = await db.query<MessageRow>(
    before ? { text: BOOKMARKS_BEFORE, values: [userId, before.createdAt, before.id, limit] } : { text: LATEST_BOOKMARKS, values: [userId, limit] },
  );
  return rows.map(toMessage);
}

import { sortTimeSql, type PagePosition, type Queryable } from '@board/service-kit';
import type { StoredMessage } from '../domain/message';

export interface MessageRow {
  id: string;
  channel: string;
  author_id: string;
  body: string;
  created_at: Date;
  edited_at: Date | null;
  version: string;
  like_count: number;
  liked_by_me: boolean;
  sort_time: string;
  username: string | null;
  display_name: string | null;
}

/** A message plus its sort time as PostgreSQL wrote it (microseconds, UTC), for cursors. */
export interface PagedMessage extends StoredMessage {
  sortTime: string;
}

/**
 * The columns of a message aliased `m` and its author aliased `a`. `viewer` is the placeholder of
 * the user whose like is looked up (one primary-key probe per row); without one, nobody's.
 */
export const messageColumns = (viewer?: string) => `
  m.id, m.channel, m.author_id, m.body, m.created_at, m.edited_at, m.version, m.like_count,
  ${viewer ? `EXISTS (SELECT 1 FROM likes l WHERE l.message_id = m.id AND l.user_id = ${viewer}::uuid)` : 'false'} AS liked_by_me,
  a.username, a.display_name`;

/** Selects messages aliased `m` with their author's names; `source` is a table or a CTE. */
const selectFrom = (source: string, viewer?: string) => `
  SELECT ${messageColumns(viewer)}, ${sortTimeSql('m.created_at')} AS sort_time
  FROM ${source} m LEFT JOIN authors a ON a.id = m.author_id`;

export const toMessage = (row: MessageRow): PagedMessage => ({
  id: row.id,
  channel: row.channel,
  authorId: row.author_id,
  body: row.body,
  createdAt: row.created_at,
  editedAt: row.edited_at,
  authorName: row.username !== null && row.display_name !== null ? { username: row.username, displayName: row.display_name } : null,
  version: Number(row.version),
  likeCount: row.like_count,
  likedByMe: row.liked_by_me,
  sortTime: row.sort_time,
});

export async function insertMessage(
  db: Queryable,
  message: { id: string; channel: string; authorId: string; body: string },
): Promise<StoredMessage> {
  const { rows } = await db.query<MessageRow>(
    `WITH inserted AS (
       INSERT INTO messages (id, channel, author_id, body) VALUES ($1, $2, $3, $4) RETURNING *
     ) ${selectFrom('inserted')}`,
    [message.id, message.channel, message.authorId, message.body],
  );
  return toMessage(rows[0]!);
}

/** The message as `viewerId` sees it (whether they like it), or undefined. */
export async function readMessage(db: Queryable, id: string, viewerId: string): Promise<StoredMessage | undefined> {
  const { rows } = await db.query<MessageRow>(`${selectFrom('messages', '$2')} WHERE m.id = $1`, [id, viewerId]);
  return rows[0] && toMessage(rows[0]);
}

/** The message, locked until the transaction ends. */
export async function lockMessage(db: Queryable, id: string): Promise<StoredMessage | undefined> {
  const { rows } = await db.query<MessageRow>(`${selectFrom('messages')} WHERE m.id = $1 FOR UPDATE OF m`, [id]);
  return rows[0] && toMessage(rows[0]);
}

/** Sets the body; the message comes back as `editorId` sees it. */
export async function updateBody(db: Queryable, id: string, body: string, editorId: string): Promise<StoredMessage | undefined> {
  const { rows } = await db.query<MessageRow>(
    `WITH updated AS (
       UPDATE messages SET body = $2, edited_at = now(), version = version + 1 WHERE id = $1 RETURNING *
     ) ${selectFrom('updated', '$3')}`,
    [id, body, editorId],
  );
  return rows[0] && toMessage(rows[0]);
}

/** A deleted message, with the version its deletion makes (one past its last change). */
export interface DeletedMessage {
  id: string;
  channel: string;
  version: number;
}

export async function deleteMessage(db: Queryable, id: string): Promise<DeletedMessage | undefined> {
  const { rows } = await db.query<{ id: string; channel: string; version: string }>(
    'DELETE FROM messages WHERE id = $1 RETURNING id, channel, version',
    [id],
  );
  return rows[0] && { ...rows[0], version: Number(rows[0].version) + 1 };
}

/** Deletes every message by `authorId`; returns what was deleted. */
export async function deleteMessagesBy(db: Queryable, authorId: string): Promise<DeletedMessage[]> {
  const { rows } = await db.query<{ id: string; channel: string; version: string }>(
    'DELETE FROM messages WHERE author_id = $1 RETURNING id, channel, version',
    [authorId],
  );
  return rows.map((row) => ({ ...row, version: Number(row.version) + 1 }));
}

const NEWEST_FIRST = 'ORDER BY m.created_at DESC, m.id DESC';
/*
 * Reading a page is the board's most frequent query. As named (prepared) statements, each
 * connection parses and plans them once instead of on every read. The first
 * page and the pages after a cursor are two statements, so that neither plan has to cover both.
 */
const LATEST_PAGE = `${selectFrom('messages', '$3')} WHERE m.channel = $1 ${NEWEST_FIRST} LIMIT $2`;
const PAGE_BEFORE = `${selectFrom('messages', '$5')}
  WHERE m.channel = $1 AND (m.created_at, m.id) < ($2::timestamptz, $3::uuid) ${NEWEST_FIRST} LIMIT $4`;

/**
 * Up to `limit` messages of `channel`, newest first, older than `before` when given, with whether
 * `viewerId` likes each (null: a visitor, who likes nothing).
 */
export async function pageOfChannel(
  db: Queryable,
  channel: string,
  viewerId: string | null,
  before: PagePosition | undefined,
  limit: number,
): Promise<PagedMessage[]> {
  const { rows } = await db.query<MessageRow>(
    before
      ? { name: 'messages-page-before', text: PAGE_BEFORE, values: [channel, before.createdAt, before.id, limit, viewerId] }
      : { name: 'messages-latest-page', text: LATEST_PAGE, values: [channel, limit, viewerId] },
  );
  return rows.map(toMessage);
}

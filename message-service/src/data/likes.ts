import type { Queryable } from '@board/service-kit';

/** A message's like count after a change, with the version the change made. */
export interface LikeCount {
  id: string;
  channel: string;
  likeCount: number;
  version: number;
}

interface LikeCountRow {
  id: string;
  channel: string;
  like_count: number;
  version: string;
}

const toLikeCount = (row: LikeCountRow): LikeCount => ({ id: row.id, channel: row.channel, likeCount: row.like_count, version: Number(row.version) });

/** Records the like; false when the user already liked the message. */
export async function addLike(db: Queryable, messageId: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('INSERT INTO likes (message_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [messageId, userId]);
  return rowCount === 1;
}

/** Removes the like; false when there was none. */
export async function removeLike(db: Queryable, messageId: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM likes WHERE message_id = $1 AND user_id = $2', [messageId, userId]);
  return rowCount === 1;
}

/** Moves the message's count by `delta` (a like changes the message, so its version moves too). */
export async function adjustLikeCount(db: Queryable, messageId: string, delta: 1 | -1): Promise<LikeCount | undefined> {
  const { rows } = await db.query<LikeCountRow>(
    'UPDATE messages SET like_count = like_count + $2, version = version + 1 WHERE id = $1 RETURNING id, channel, like_count, version',
    [messageId, delta],
  );
  return rows[0] && toLikeCount(rows[0]);
}

/** Removes every like by `userId` and takes each off its message's count; returns the new counts. */
export async function removeLikesBy(db: Queryable, userId: string): Promise<LikeCount[]> {
  const { rows } = await db.query<LikeCountRow>(
    `WITH removed AS (DELETE FROM likes WHERE user_id = $1 RETURNING message_id)
     UPDATE messages m SET like_count = m.like_count - 1, version = m.version + 1
     FROM removed WHERE m.id = removed.message_id
     RETURNING m.id, m.channel, m.like_count, m.version`,
    [userId],
  );
  return rows.map(toLikeCount);
}

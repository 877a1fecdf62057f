import type { Queryable } from '@board/service-kit';

export interface ChannelSummary {
  name: string;
  messageCount: number;
  lastMessageAt: Date;
}

/**
 * The channel list is written with the messages, in the same transaction, so that reading it
 * never counts messages. A post adds one; deletions take one off per message and move the last
 * activity back to the newest message left (one probe of the page index, not a count).
 */
export async function countPosted(db: Queryable, channel: string, postedAt: Date): Promise<void> {
  await db.query(
    `INSERT INTO channels (name, message_count, last_message_at) VALUES ($1, 1, $2)
     ON CONFLICT (name) DO UPDATE SET message_count = channels.message_count + 1,
       last_message_at = GREATEST(channels.last_message_at, EXCLUDED.last_message_at)`,
    [channel, postedAt],
  );
}

/** Takes the deleted messages (one channel name per message, repeats allowed) off their channels. */
export async function countRemoved(db: Queryable, channels: readonly string[]): Promise<void> {
  if (channels.length === 0) return;
  // Locked first (in name order, so two deletions cannot deadlock), so that the newest message
  // below is read after any post to the channel that got there first has committed.
  await db.query('SELECT 1 FROM channels WHERE name = ANY($1) ORDER BY name FOR UPDATE', [channels]);
  await db.query(
    `WITH removed AS (SELECT name, count(*)::int AS n FROM unnest($1::text[]) AS name GROUP BY name)
     UPDATE channels c SET message_count = c.message_count - removed.n,
       last_message_at = COALESCE((SELECT max(created_at) FROM messages WHERE channel = c.name), c.last_message_at)
     FROM removed WHERE c.name = removed.name`,
    [channels],
  );
  await db.query('DELETE FROM channels WHERE name = ANY($1) AND message_count = 0', [channels]);
}

/** The channels that hold messages, most recently active first. */
export async function listChannels(db: Queryable, limit: number): Promise<ChannelSummary[]> {
  const { rows } = await db.query<{ name: string; message_count: number; last_message_at: Date }>(
    'SELECT name, message_count, last_message_at FROM channels ORDER BY last_message_at DESC, name LIMIT $1',
    [limit],
  );
  return rows.map((row) => ({ name: row.name, messageCount: row.message_count, lastMessageAt: row.last_message_at }));
}

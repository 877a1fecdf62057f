import type { Queryable } from '@board/service-kit';

/**
 * Deleted users (tombstones) and the lock that orders a deletion against writes in flight: a
 * write (a post, a like, a bookmark) holds the user's lock shared, the deletion exclusively, so
 * the deletion waits for writes that already started (and then removes what they wrote), and
 * writes after it see the tombstone.
 */
const userLock = 'hashtextextended($1::text, 0)';

export async function holdUserForWriting(db: Queryable, userId: string): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock_shared(${userLock})`, [userId]);
}

export async function holdUserForDeletion(db: Queryable, userId: string): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock(${userLock})`, [userId]);
}

export async function isDeletedUser(db: Queryable, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM deleted_users WHERE id = $1', [userId]);
  return rowCount === 1;
}

export async function recordDeletedUser(db: Queryable, userId: string): Promise<void> {
  await db.query('INSERT INTO deleted_users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [userId]);
}

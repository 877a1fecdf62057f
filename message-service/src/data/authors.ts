import type { Queryable } from '@board/service-kit';

export interface AuthorNames {
  id: string;
  username: string;
  displayName: string;
  /** When the event carrying these names occurred. */
  asOf: string;
  /** The user version the event left the user at (its aggregateVersion), when it carries one. */
  version: number | null;
  /** The versioned avatar URL, null for none; undefined when the event says nothing of it (an older producer). */
  avatarUrl?: string | null;
}

/** Records a registered author; a copy that an update already wrote is left alone, and a deleted user stays deleted. */
export async function insertAuthor(db: Queryable, author: AuthorNames): Promise<void> {
  await db.query(
    `INSERT INTO authors (id, username, display_name, updated_at, version, avatar_url)
     SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM deleted_users WHERE id = $1)
     ON CONFLICT (id) DO NOTHING`,
    [author.id, author.username, author.displayName, author.asOf, author.version, author.avatarUrl ?? null],
  );
}

/**
 * Writes the names (and the avatar URL, when the event carries one) unless what is stored comes
 * from a later change (events can arrive out of order): by the user's version where both sides
 * have one, else by the event's time; never for a deleted user.
 */
export async function upsertAuthor(db: Queryable, author: AuthorNames): Promise<void> {
  await db.query(
    `INSERT INTO authors (id, username, display_name, updated_at, version, avatar_url)
     SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM deleted_users WHERE id = $1)
     ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, display_name = EXCLUDED.display_name,
       updated_at = EXCLUDED.updated_at, version = COALESCE(EXCLUDED.version, authors.version),
       avatar_url = CASE WHEN $7 THEN EXCLUDED.avatar_url ELSE authors.avatar_url END
     WHERE CASE WHEN authors.version IS NOT NULL AND EXCLUDED.version IS NOT NULL THEN authors.version < EXCLUDED.version
                ELSE authors.updated_at < EXCLUDED.updated_at END`,
    [author.id, author.username, author.displayName, author.asOf, author.version, author.avatarUrl ?? null, author.avatarUrl !== undefined],
  );
}

export async function deleteAuthor(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM authors WHERE id = $1', [id]);
}

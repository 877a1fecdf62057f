import type { Queryable } from '@board/service-kit';

export interface AuthorNames {
  id: string;
  username: string;
  displayName: string;
  /** When the event carrying these names occurred. */
  asOf: string;
}

/** Records a registered author; a copy that an update already wrote is left alone. */
export async function insertAuthor(db: Queryable, author: AuthorNames): Promise<void> {
  await db.query(
    `INSERT INTO authors (id, username, display_name, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO NOTHING`,
    [author.id, author.username, author.displayName, author.asOf],
  );
}

/** Writes the names unless what is stored comes from a later event (events can arrive out of order). */
export async function upsertAuthor(db: Queryable, author: AuthorNames): Promise<void> {
  await db.query(
    `INSERT INTO authors (id, username, display_name, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, display_name = EXCLUDED.display_name,
       updated_at = EXCLUDED.updated_at
     WHERE authors.updated_at < EXCLUDED.updated_at`,
    [author.id, author.username, author.displayName, author.asOf],
  );
}

export async function deleteAuthor(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM authors WHERE id = $1', [id]);
}

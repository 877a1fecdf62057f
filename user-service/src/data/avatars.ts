import type { Queryable } from '@board/service-kit';

export interface StoredAvatar {
  image: Buffer;
  /** The profile version that set it: its URL and ETag carry it. */
  version: number;
}

export async function upsertAvatarImage(db: Queryable, userId: string, image: Buffer): Promise<void> {
  await db.query(
    'INSERT INTO avatars (user_id, image) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET image = EXCLUDED.image',
    [userId, image],
  );
}

/** True when there was an avatar to delete. */
export async function deleteAvatarImage(db: Queryable, userId: string): Promise<boolean> {
  const result = await db.query('DELETE FROM avatars WHERE user_id = $1', [userId]);
  return result.rowCount === 1;
}

export async function findAvatar(db: Queryable, userId: string): Promise<StoredAvatar | undefined> {
  const { rows } = await db.query<{ image: Buffer; avatar_version: string }>(
    `SELECT a.image, p.avatar_version FROM avatars a JOIN profiles p ON p.id = a.user_id
     WHERE a.user_id = $1 AND p.avatar_version IS NOT NULL`,
    [userId],
  );
  return rows[0] && { image: rows[0].image, version: Number(rows[0].avatar_version) };
}

/** Only the version, for a conditional request that may not need the image at all. */
export async function findAvatarVersion(db: Queryable, userId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ avatar_version: string | null }>('SELECT avatar_version FROM profiles WHERE id = $1', [userId]);
  const version = rows[0]?.avatar_version;
  return version === null || version === undefined ? undefined : Number(version);
}

import { sortTimeSql, type PagePosition, type Queryable } from '@board/service-kit';
import type { Role } from '@board/service-kit/contracts';
import type { Profile } from '../domain/profile';

interface ProfileRow {
  id: string;
  email: string;
  username: string;
  display_name: string;
  role: Role;
  created_at: Date;
  version: string;
  avatar_version: string | null;
  last_active_at: Date | null;
  sort_time: string;
}

/** A profile plus its listing sort time, as PostgreSQL wrote it (microseconds, UTC). */
export interface ListedProfile extends Profile {
  sortTime: string;
}

const COLUMNS = `id, email, username, display_name, role, created_at, version, avatar_version, last_active_at,
  ${sortTimeSql('created_at')} AS sort_time`;

const toProfile = (row: ProfileRow): ListedProfile => ({
  id: row.id,
  email: row.email,
  username: row.username,
  displayName: row.display_name,
  role: row.role,
  createdAt: row.created_at,
  version: Number(row.version),
  avatarVersion: row.avatar_version === null ? null : Number(row.avatar_version),
  lastActiveAt: row.last_active_at,
  sortTime: row.sort_time,
});

/** Creates the profile unless it exists or the user was deleted; true when it was created. */
export async function insertProfile(
  db: Queryable,
  profile: Omit<Profile, 'createdAt' | 'version' | 'avatarVersion' | 'lastActiveAt'>,
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO profiles (id, email, username, display_name, role)
     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM deleted_profiles WHERE id = $1)
     ON CONFLICT (id) DO NOTHING`,
    [profile.id, profile.email, profile.username, profile.displayName, profile.role],
  );
  return result.rowCount === 1;
}

export async function findProfile(db: Queryable, id: string): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileRow>(`SELECT ${COLUMNS} FROM profiles WHERE id = $1`, [id]);
  return rows[0] && toProfile(rows[0]);
}

/** The profile, locked until the transaction ends. */
export async function lockProfile(db: Queryable, id: string): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileRow>(`SELECT ${COLUMNS} FROM profiles WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] && toProfile(rows[0]);
}

/**
 * Every admin's id, with their rows locked until the transaction ends: two transactions that
 * would each remove an admin queue here, and the second sees what the first committed. Locked in
 * id order so two such transactions cannot deadlock.
 */
export async function lockAdminIds(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM profiles WHERE role = 'admin' ORDER BY id FOR UPDATE`);
  return rows.map((row) => row.id);
}

export async function updateDisplayName(db: Queryable, id: string, displayName: string): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileRow>(
    `UPDATE profiles SET display_name = $2, updated_at = now(), version = version + 1 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, displayName],
  );
  return rows[0] && toProfile(rows[0]);
}

export async function updateRole(db: Queryable, id: string, role: Role): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileRow>(
    `UPDATE profiles SET role = $2, updated_at = now(), version = version + 1 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, role],
  );
  return rows[0] && toProfile(rows[0]);
}

/** Records that the profile has an avatar (set at this change, the profile's next version) or, given false, none. */
export async function updateAvatarVersion(db: Queryable, id: string, hasAvatar: boolean): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileRow>(
    `UPDATE profiles SET avatar_version = CASE WHEN $2 THEN version + 1 END, updated_at = now(), version = version + 1
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, hasAvatar],
  );
  return rows[0] && toProfile(rows[0]);
}

/** Deletes the profile; returns the version the deletion makes (one past the last change), undefined when there was none. */
export async function deleteProfile(db: Queryable, id: string): Promise<number | undefined> {
  const { rows } = await db.query<{ version: string }>('DELETE FROM profiles WHERE id = $1 RETURNING version', [id]);
  await db.query('INSERT INTO deleted_profiles (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [id]);
  return rows[0] && Number(rows[0].version) + 1;
}

/** Up to `limit` profiles in creation order, starting after `after` when given. */
export async function listProfiles(db: Queryable, after: PagePosition | undefined, limit: number): Promise<ListedProfile[]> {
  const { rows } = await db.query<ProfileRow>(
    `SELECT ${COLUMNS} FROM profiles
     WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid)
     ORDER BY created_at, id
     LIMIT $3`,
    [after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return rows.map(toProfile);
}

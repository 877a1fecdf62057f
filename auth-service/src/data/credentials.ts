import { type Queryable } from '@board/service-kit';
import { isRole, type Role } from '@board/service-kit/contracts';
import type { Credentials } from '../domain/credentials';

export interface NewCredentials {
  userId: string;
  email: string;
  username: string;
  displayName: string;
  passwordHash: string;
  role: Role;
}

interface CredentialsRow {
  user_id: string;
  email: string;
  username: string;
  display_name: string;
  password_hash: string;
  role: string;
  created_at: Date;
}

const COLUMNS = 'user_id, email, username, display_name, password_hash, role, created_at';

function toCredentials(row: CredentialsRow): Credentials {
  if (!isRole(row.role)) throw new Error(`credentials ${row.user_id} have an unknown role ${row.role}`);
  return {
    userId: row.user_id,
    email: row.email,
    username: row.username,
    displayName: row.display_name,
    passwordHash: row.password_hash,
    role: row.role,
    createdAt: row.created_at,
  };
}

export async function findCredentialsByEmail(db: Queryable, email: string): Promise<Credentials | undefined> {
  const { rows } = await db.query<CredentialsRow>(`SELECT ${COLUMNS} FROM credentials WHERE email = $1`, [email]);
  return rows[0] && toCredentials(rows[0]);
}

export async function findCredentialsById(db: Queryable, userId: string): Promise<Credentials | undefined> {
  const { rows } = await db.query<CredentialsRow>(`SELECT ${COLUMNS} FROM credentials WHERE user_id = $1`, [userId]);
  return rows[0] && toCredentials(rows[0]);
}

export type InsertOutcome = { inserted: Credentials } | { taken: 'email' | 'username' };

/**
 * Inserts new credentials, or says which unique field is taken. ON CONFLICT keeps the caller's
 * transaction usable, and a concurrent insert of the same email waits for the other to commit.
 */
export async function insertCredentials(tx: Queryable, fields: NewCredentials): Promise<InsertOutcome> {
  const { rows } = await tx.query<CredentialsRow>(
    `INSERT INTO credentials (user_id, email, username, display_name, password_hash, role)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [fields.userId, fields.email, fields.username, fields.displayName, fields.passwordHash, fields.role],
  );
  if (rows[0]) return { inserted: toCredentials(rows[0]) };
  const taken = await tx.query('SELECT 1 FROM credentials WHERE email = $1', [fields.email]);
  return { taken: taken.rowCount === 0 ? 'username' : 'email' };
}

export async function updatePasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE credentials SET password_hash = $2, password_changed_at = now() WHERE user_id = $1', [userId, passwordHash]);
}

/**
 * Sets the role unless a later change was applied already (events can arrive late after a retry):
 * by the user's version, or, for an event recorded before versions existed, by the producer's
 * time of the change.
 */
export async function updateRole(db: Queryable, userId: string, role: Role, change: { changedAt: Date; version?: number }): Promise<void> {
  await db.query(
    `UPDATE credentials SET role = $2, role_changed_at = $3, role_version = COALESCE($4, role_version)
      WHERE user_id = $1
        AND CASE WHEN $4::bigint IS NOT NULL THEN role_version < $4
                 ELSE role_changed_at IS NULL OR role_changed_at < $3 END`,
    [userId, role, change.changedAt, change.version ?? null],
  );
}

/** Deletes the account; its sessions and refresh tokens go with it (ON DELETE CASCADE). */
export async function deleteCredentials(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM credentials WHERE user_id = $1', [userId]);
}

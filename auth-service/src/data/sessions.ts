import type { Queryable } from '@board/service-kit';
import type { RefreshTokenRecord, SessionView } from '../domain/session';

export interface NewSession {
  id: string;
  userId: string;
  userAgent: string;
  ip: string | undefined;
  csrfHash: string;
  lifetimeSeconds: number;
}

/** Inserts a session with its first refresh token; returns when the session expires. */
export async function insertSession(tx: Queryable, session: NewSession, refreshTokenHash: string): Promise<Date> {
  const { rows } = await tx.query<{ expires_at: Date }>(
    `INSERT INTO sessions (id, user_id, user_agent, ip, csrf_hash, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING expires_at`,
    [session.id, session.userId, session.userAgent, session.ip ?? null, session.csrfHash, session.lifetimeSeconds],
  );
  await tx.query('INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)', [refreshTokenHash, session.id]);
  return rows[0]!.expires_at;
}

/**
 * Finds a refresh token and its session, locking the token row so that two requests presenting
 * the same token are decided one after the other: the second sees it rotated.
 */
export async function findRefreshTokenForUpdate(tx: Queryable, tokenHash: string): Promise<RefreshTokenRecord | undefined> {
  const { rows } = await tx.query<{
    session_id: string;
    user_id: string;
    rotated: boolean;
    rotated_ms_ago: string | null;
    live: boolean;
    csrf_hash: string;
    expires_at: Date;
  }>(
    `SELECT t.session_id, s.user_id, t.rotated_at IS NOT NULL AS rotated,
            -- clock_timestamp, not now(): now() is when this transaction began, which can be before
            -- a concurrent refresh, waited for on the row lock, rotated the token.
            greatest(0, (extract(epoch FROM clock_timestamp() - t.rotated_at) * 1000)::bigint) AS rotated_ms_ago,
            (s.revoked_at IS NULL AND s.expires_at > now()) AS live, s.csrf_hash, s.expires_at
       FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
      WHERE t.token_hash = $1
        FOR UPDATE OF t`,
    [tokenHash],
  );
  const row = rows[0];
  return (
    row && {
      sessionId: row.session_id,
      userId: row.user_id,
      rotated: row.rotated,
      rotatedMsAgo: row.rotated_ms_ago === null ? null : Number(row.rotated_ms_ago),
      live: row.live,
      csrfHash: row.csrf_hash,
      expiresAt: row.expires_at,
    }
  );
}

/** Whether `tokenHash` is its session's current refresh token (issued and not rotated since). */
export async function isCurrentRefreshToken(tx: Queryable, tokenHash: string): Promise<boolean> {
  const { rowCount } = await tx.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1 AND rotated_at IS NULL', [tokenHash]);
  return rowCount === 1;
}

/** Replaces `oldTokenHash` with `newTokenHash` and the session's CSRF token, and records the use. */
export async function rotateRefreshToken(
  tx: Queryable,
  change: { sessionId: string; oldTokenHash: string; newTokenHash: string; csrfHash: string; ip: string | undefined },
): Promise<void> {
  await tx.query('UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1', [change.oldTokenHash]);
  await tx.query('INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)', [change.newTokenHash, change.sessionId]);
  await tx.query('UPDATE sessions SET csrf_hash = $2, ip = coalesce($3, ip), last_used_at = now() WHERE id = $1', [
    change.sessionId,
    change.csrfHash,
    change.ip ?? null,
  ]);
}

/** Revokes one session of `userId`; false when it is not theirs or not live. */
export async function revokeSession(db: Queryable, sessionId: string, userId: string): Promise<boolean> {
  const result = await db.query(
    'UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()',
    [sessionId, userId],
  );
  return result.rowCount === 1;
}

/** Revokes every live session of `userId` except `keepSessionId`; returns the revoked ids. */
export async function revokeUserSessions(db: Queryable, userId: string, keepSessionId?: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE sessions SET revoked_at = now()
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND id IS DISTINCT FROM $2
      RETURNING id`,
    [userId, keepSessionId ?? null],
  );
  return rows.map((row) => row.id);
}

/** Ids of the sessions whose access tokens may still be in use. */
export async function liveSessionIds(db: Queryable, userId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()',
    [userId],
  );
  return rows.map((row) => row.id);
}

/** Marks a live session of `userId` as used now; false when it is revoked, expired or not theirs. */
export async function touchLiveSession(db: Queryable, sessionId: string, userId: string): Promise<boolean> {
  const result = await db.query(
    `UPDATE sessions SET last_used_at = now()
      WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()`,
    [sessionId, userId],
  );
  return result.rowCount === 1;
}

export async function listLiveSessions(db: Queryable, userId: string): Promise<SessionView[]> {
  const { rows } = await db.query<{ id: string; user_agent: string; ip: string | null; created_at: Date; last_used_at: Date }>(
    `SELECT id, user_agent, ip, created_at, last_used_at FROM sessions
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
      ORDER BY last_used_at DESC`,
    [userId],
  );
  return rows.map((row) => ({
    id: row.id,
    userAgent: row.user_agent,
    ip: row.ip,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  }));
}

/**
 * Deletes up to `batchSize` sessions (and, by cascade, their refresh tokens) that expired or were
 * revoked more than `graceSeconds` ago. The grace keeps a recently revoked family around so that
 * a replayed token is still recognised as reuse.
 */
export async function deleteStaleSessions(db: Queryable, graceSeconds: number, batchSize: number): Promise<number> {
  const result = await db.query(
    `DELETE FROM sessions WHERE id IN (
       SELECT id FROM sessions
        WHERE expires_at < now() - make_interval(secs => $1) OR revoked_at < now() - make_interval(secs => $1)
        LIMIT $2)`,
    [graceSeconds, batchSize],
  );
  return result.rowCount ?? 0;
}

import type { Queryable } from '@board/service-kit';

export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: string;
  n?: string;
  e?: string;
}

export interface StoredSigningKey {
  kid: string;
  privateKeyEncrypted: string;
  /** True when the key is old enough to be replaced. */
  due: boolean;
}

/** Serialises key creation across replicas for the length of the caller's transaction. */
export async function lockSigningKeys(tx: Queryable): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('auth-service.signing-keys'))`);
}

export async function findActiveKey(db: Queryable, rotationDays: number): Promise<StoredSigningKey | undefined> {
  const { rows } = await db.query<{ kid: string; private_key_encrypted: string; due: boolean }>(
    `SELECT kid, private_key_encrypted, created_at <= now() - make_interval(days => $1) AS due
       FROM signing_keys WHERE retired_at IS NULL`,
    [rotationDays],
  );
  const row = rows[0];
  return row && { kid: row.kid, privateKeyEncrypted: row.private_key_encrypted, due: row.due };
}

export async function retireKey(tx: Queryable, kid: string): Promise<void> {
  await tx.query('UPDATE signing_keys SET retired_at = now() WHERE kid = $1 AND retired_at IS NULL', [kid]);
}

export async function insertKey(tx: Queryable, key: { kid: string; publicJwk: PublicJwk; privateKeyEncrypted: string }): Promise<void> {
  await tx.query('INSERT INTO signing_keys (kid, public_jwk, private_key_encrypted) VALUES ($1, $2, $3)', [
    key.kid,
    key.publicJwk,
    key.privateKeyEncrypted,
  ]);
}

/** The active key and the keys retired less than `retentionSeconds` ago, newest first. */
export async function publishedKeys(db: Queryable, retentionSeconds: number): Promise<PublicJwk[]> {
  const { rows } = await db.query<{ public_jwk: PublicJwk }>(
    `SELECT public_jwk FROM signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
      ORDER BY created_at DESC`,
    [retentionSeconds],
  );
  return rows.map((row) => row.public_jwk);
}

import type { Queryable } from '@board/service-kit';
import type { PublicJwk, StoredSigningKey } from '../domain/signing-key';

/** Serialises key creation across replicas for the length of the caller's transaction. */
export async function lockSigningKeys(tx: Queryable): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('auth-service.signing-keys'))`);
}

/** The keys not retired, newest first: at most the signing key and the next one, published ahead. */
export async function unretiredKeys(db: Queryable, rotationDays: number): Promise<StoredSigningKey[]> {
  const { rows } = await db.query<{ kid: string; private_key_encrypted: string; activates_at: Date; activated: boolean; due: boolean }>(
    // clock_timestamp, not now(): a replica whose transaction began before another added a key
    // (it waited on the lock) must still see that key as active once its time has come.
    `SELECT kid, private_key_encrypted, activates_at,
            activates_at <= clock_timestamp() AS activated,
            activates_at <= clock_timestamp() - make_interval(days => $1) AS due
       FROM signing_keys WHERE retired_at IS NULL
      ORDER BY activates_at DESC`,
    [rotationDays],
  );
  return rows.map((row) => ({
    kid: row.kid,
    privateKeyEncrypted: row.private_key_encrypted,
    activatesAt: row.activates_at,
    activated: row.activated,
    due: row.due,
  }));
}

/** Retires the keys a newer one replaced, as of the moment it started signing. */
export async function retireKeysReplacedBy(db: Queryable, signer: Pick<StoredSigningKey, 'activatesAt'>): Promise<void> {
  await db.query('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND activates_at < $1', [signer.activatesAt]);
}

export async function insertKey(
  tx: Queryable,
  key: { kid: string; publicJwk: PublicJwk; privateKeyEncrypted: string; activatesInSeconds: number },
): Promise<void> {
  await tx.query(
    'INSERT INTO signing_keys (kid, public_jwk, private_key_encrypted, activates_at) VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4))',
    [key.kid, key.publicJwk, key.privateKeyEncrypted, key.activatesInSeconds],
  );
}

/** The signing key, the next one, and the keys retired less than `retentionSeconds` ago, newest first. */
export async function publishedKeys(db: Queryable, retentionSeconds: number): Promise<PublicJwk[]> {
  const { rows } = await db.query<{ public_jwk: PublicJwk }>(
    `SELECT public_jwk FROM signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
      ORDER BY activates_at DESC`,
    [retentionSeconds],
  );
  return rows.map((row) => row.public_jwk);
}

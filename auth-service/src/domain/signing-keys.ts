import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  generateKeyPair,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { Counter, Database, Logger, Transaction } from '@board/service-kit';
import {
  insertKey,
  lockSigningKeys,
  publishedKeys,
  retireKeysReplacedBy,
  unretiredKeys,
} from '../data/signing-keys';
import type { PublicJwk, StoredSigningKey } from './signing-key';

export const SIGNING_ALGORITHM = 'RS256';
const ENCRYPTION_FORMAT = 'v1';

export interface ActiveSigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface SigningKeysOptions {
  db: Database;
  encryptionSecret: string;
  rotationDays: number;
  /**
   * How long a new key is published before it signs: longer than verifiers take to re-read the
   * JWKS, so none meets a token whose key it has not seen.
   */
  publishLeadSeconds: number;
  /** How long a retired key stays in the JWKS: as long as a token it signed can still be valid. */
  retentionSeconds: number;
  logger: Logger;
  rotations: Counter;
}

/**
 * The RS256 keys that sign access tokens. Keys live in PostgreSQL (private halves encrypted with
 * AES-256-GCM), so every replica signs with the same active key and the JWKS is the same whichever
 * replica serves it. Creating a key happens under an advisory lock, so replicas starting together
 * create one key, not several.
 *
 * Rotation: when the signing key is due, the next key is created and published at once but starts
 * signing only `publishLeadSeconds` later; then the old key is retired, and stays published as
 * long as tokens it signed can live. The very first key signs at once: no verifier has anything
 * to miss yet.
 */
export class SigningKeys {
  private active: ActiveSigningKey | undefined;
  private readonly encryptionKey: Buffer;

  constructor(private readonly options: SigningKeysOptions) {
    this.encryptionKey = Buffer.from(
      hkdfSync('sha256', options.encryptionSecret, Buffer.alloc(0), 'auth-service signing-key encryption', 32),
    );
  }

  /** The key to sign with now; call refresh() first. */
  current(): ActiveSigningKey {
    if (!this.active) throw new Error('no signing key loaded; call refresh() first');
    return this.active;
  }

  /**
   * Loads the signing key, creating the next one when the signing key is due (or the first one),
   * and switching to the next one once it is active. Runs at start and periodically, which also
   * picks up what another replica did.
   */
  async refresh(): Promise<void> {
    const { db, rotationDays } = this.options;
    let keys = await unretiredKeys(db, rotationDays);
    if (needsNewKey(keys)) keys = await db.transaction((tx) => this.addKeyUnderLock(tx));
    const signer = keys.find((key) => key.activated);
    if (!signer) throw new Error('no signing key is active');
    if (keys.some((key) => key.activatesAt < signer.activatesAt)) await retireKeysReplacedBy(db, signer);
    if (this.active?.kid !== signer.kid) this.active = { kid: signer.kid, privateKey: this.decrypt(signer) };
  }

  /** The public keys a verifier needs: the signing key, the next one, and recently retired ones. */
  jwks(): Promise<PublicJwk[]> {
    return publishedKeys(this.options.db, this.options.retentionSeconds);
  }

  private async addKeyUnderLock(tx: Transaction): Promise<StoredSigningKey[]> {
    await lockSigningKeys(tx);
    // Another replica may have added it while this one waited for the lock.
    const keys = await unretiredKeys(tx, this.options.rotationDays);
    if (!needsNewKey(keys)) return keys;
    const current = keys.find((key) => key.activated);
    const { publicJwk, privateKey } = await newKeyPair();
    await insertKey(tx, {
      kid: publicJwk.kid,
      publicJwk,
      privateKeyEncrypted: this.encrypt(privateKey, publicJwk.kid),
      activatesInSeconds: current ? this.options.publishLeadSeconds : 0,
    });
    this.options.rotations.inc();
    this.options.logger.info({ kid: publicJwk.kid, replaces: current?.kid, leadSeconds: current ? this.options.publishLeadSeconds : 0 }, 'created a signing key');
    return unretiredKeys(tx, this.options.rotationDays);
  }

  /** iv, GCM tag and ciphertext; the kid is authenticated data, so a row's key cannot be swapped into another. */
  private encrypt(privateKey: KeyObject, kid: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv).setAAD(Buffer.from(kid, 'utf8'));
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'));
    return [ENCRYPTION_FORMAT, ...parts].join('.');
  }

  private decrypt({ kid, privateKeyEncrypted }: StoredSigningKey): KeyObject {
    const [format, iv, tag, ciphertext] = privateKeyEncrypted.split('.');
    if (format !== ENCRYPTION_FORMAT || !iv || !tag || !ciphertext) throw new Error(`signing key ${kid} is stored in an unknown format`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64url'))
        .setAAD(Buffer.from(kid, 'utf8'))
        .setAuthTag(Buffer.from(tag, 'base64url'));
      const der = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch (error) {
      throw new Error(`cannot decrypt signing key ${kid}: was KEY_ENCRYPTION_SECRET changed?`, { cause: error });
    }
  }
}

/** No key signs yet, or the signing key is due and its successor is not published yet. */
function needsNewKey(keys: StoredSigningKey[]): boolean {
  const signer = keys.find((key) => key.activated);
  if (!signer) return keys.length === 0;
  return signer.due && signer === keys[0];
}

function generateRsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (error, publicKey, privateKey) => {
      if (error) reject(error);
      else resolve({ publicKey, privateKey });
    });
  });
}

/** A fresh key pair; its kid is the RFC 7638 thumbprint of the public key. */
async function newKeyPair(): Promise<{ publicJwk: PublicJwk; privateKey: KeyObject }> {
  const { publicKey, privateKey } = await generateRsaKeyPair();
  const { n, e } = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
  return { publicJwk: { kty: 'RSA', kid, alg: SIGNING_ALGORITHM, use: 'sig', n, e }, privateKey };
}

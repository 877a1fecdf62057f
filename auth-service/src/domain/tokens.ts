import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: refresh tokens and CSRF tokens. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/**
 * What the database keeps instead of a token. A fast hash is enough: the tokens are 256 random
 * bits, so unlike passwords they cannot be guessed from their hash.
 */
export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Compares two secrets in time that does not depend on where they first differ. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: refresh tokens and CSRF tokens. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/**
 * The refresh and CSRF tokens that replace `refreshToken` when it is rotated: derived from it
 * with a key of this service's (HMAC-SHA256, 256 bits each, as unguessable as random ones), so
 * that a second refresh with the same token a moment later (two tabs at once) can be given the
 * same successor instead of a second one, without the successor being stored anywhere.
 */
export function successorTokens(key: Buffer, refreshToken: string): { refreshToken: string; csrfToken: string } {
  const derive = (purpose: string) => createHmac('sha256', key).update(`${purpose}\0${refreshToken}`, 'utf8').digest('base64url');
  return { refreshToken: derive('refresh'), csrfToken: derive('csrf') };
}

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

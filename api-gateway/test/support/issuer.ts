import { createHmac, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export const ISSUER = 'message-board-auth';
export const AUDIENCE = 'message-board';

export interface Claims {
  sub: string;
  role: string;
  sid: string;
  [claim: string]: unknown;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

const signWith = (claims: object, privateKey: KeyObject, options: jwt.SignOptions) =>
  jwt.sign(claims, privateKey, { algorithm: 'RS256', issuer: ISSUER, audience: AUDIENCE, ...options });

function newKey(kid = randomUUID()): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

/**
 * Plays the auth-service's part in token checks: RSA keys published as a JWKS, access tokens
 * signed with them, and every kind of forged token a gateway must refuse.
 */
export class TokenIssuer {
  private readonly published: SigningKey[] = [newKey()];
  /** A key pair the gateway has never seen. */
  private readonly stranger = newKey();

  jwks(): { keys: JsonWebKey[] } {
    return { keys: this.published.map(({ kid, publicKey }) => ({ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' })) };
  }

  /** Publishes a new key (rotation) and returns its kid. */
  rotate(): string {
    const key = newKey();
    this.published.push(key);
    return key.kid;
  }

  claims(overrides: Partial<Claims> = {}): Claims {
    return { sub: randomUUID(), role: 'member', sid: randomUUID(), ...overrides };
  }

  sign(claims: Claims = this.claims(), options: jwt.SignOptions = {}, kid = this.published[0]!.kid): string {
    const key = this.published.find((candidate) => candidate.kid === kid) ?? this.stranger;
    return signWith(claims, key.privateKey, { keyid: kid, expiresIn: 900, jwtid: randomUUID(), ...options });
  }

  /**
   * Tokens in an algorithm the gateway never accepts, naming a kid nobody published: refused on
   * the header alone, they must not make the gateway fetch the keys to look that kid up.
   */
  wrongAlgorithmUnknownKid(claims: Claims = this.claims()): Record<string, string> {
    const now = Math.floor(Date.now() / 1_000);
    const payload = { ...claims, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 900 };
    const unsigned = (alg: string) => `${base64url(JSON.stringify({ alg, typ: 'JWT', kid: randomUUID() }))}.${base64url(JSON.stringify(payload))}`;
    const hmacInput = unsigned('HS256');
    return {
      'alg none': `${unsigned('none')}.`,
      HS256: `${hmacInput}.${createHmac('sha256', 'any secret').update(hmacInput).digest('base64url')}`,
    };
  }

  /** Every token here must be refused, each for its own reason. */
  forgeries(claims: Claims = this.claims()): Record<string, string> {
    const { kid, privateKey } = this.published[0]!;
    const now = Math.floor(Date.now() / 1_000);
    const payload = { ...claims, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 900 };
    const unsigned = (header: object) => `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const publicPem = this.published[0]!.publicKey.export({ format: 'pem', type: 'spki' });
    const hmacInput = unsigned({ alg: 'HS256', typ: 'JWT', kid });
    const valid = this.sign(claims);
    const [header, , signature] = valid.split('.');
    return {
      'alg none': `${unsigned({ alg: 'none', typ: 'JWT', kid })}.`,
      'HS256 signed with the public key': `${hmacInput}.${createHmac('sha256', publicPem).update(hmacInput).digest('base64url')}`,
      expired: this.sign(claims, { expiresIn: -60 }),
      'not yet valid': this.sign(claims, { notBefore: 120 }),
      'wrong issuer': this.sign(claims, { issuer: 'someone-else' }),
      'wrong audience': this.sign(claims, { audience: 'another-app' }),
      'unknown kid': signWith(claims, this.stranger.privateKey, { keyid: this.stranger.kid, expiresIn: 900 }),
      'known kid, another key': signWith(claims, this.stranger.privateKey, { keyid: kid, expiresIn: 900 }),
      'no kid': signWith(claims, privateKey, { expiresIn: 900 }),
      'tampered payload': `${header}.${base64url(JSON.stringify({ ...payload, role: 'admin' }))}.${signature}`,
      'no expiry': signWith(claims, privateKey, { keyid: kid }),
      'unknown role': this.sign({ ...claims, role: 'superuser' }),
      'subject not a uuid': this.sign({ ...claims, sub: 'alice' }),
      'no session id': signWith({ sub: claims.sub, role: claims.role }, privateKey, { keyid: kid, expiresIn: 900 }),
      garbage: 'not.a.token',
    };
  }
}

import { createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { JwksClient, JwksRateLimitError, SigningKeyNotFoundError, type SigningKey } from 'jwks-rsa';
import { AppError, serviceUnavailable } from '@board/service-kit';
import { isRole, isUuid, type Identity } from '@board/service-kit/contracts';

export interface TokenVerifierOptions {
  jwksUri: string;
  issuer: string;
  audience: string;
  cacheMaxAgeMs: number;
  jwksRequestsPerMinute: number;
  fetchTimeoutMs: number;
}

/** The only algorithm accepted, whatever a token's header claims (no `none`, no HMAC with the public key). */
const ALGORITHM = 'RS256';
const CLOCK_TOLERANCE_SECONDS = 5;
/** Far longer than any real access token; refuses absurd input before any parsing work. */
const MAX_TOKEN_LENGTH = 8_192;
/**
 * Verified tokens are remembered for a short while: a client sends the same token with every
 * request, and checking its RS256 signature (with the decoding around it) each time would spend
 * CPU on a question already answered. The signature cannot change, so a hit is as good as a
 * check until the token expires; the cap bounds how long a token signed with a key withdrawn
 * from the JWKS in an emergency keeps working. Revocation is checked on every request regardless.
 */
const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

const invalidToken = (message: string) =>
  new AppError(401, 'INVALID_TOKEN', message, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
const tokenExpired = () =>
  new AppError(401, 'TOKEN_EXPIRED', 'The access token has expired', undefined, {
    'WWW-Authenticate': 'Bearer error="invalid_token", error_description="expired"',
  });

/**
 * Verifies access tokens against the auth-service's published keys. Keys are fetched lazily,
 * cached per `kid`, and fetched again when a token names a `kid` not seen yet (key rotation),
 * at most `jwksRequestsPerMinute` times a minute. While the JWKS cannot be fetched, keys seen
 * before keep working, so an auth-service outage does not lock everyone out of the other services.
 */
export class TokenVerifier {
  private readonly jwks: JwksClient;
  /**
   * Each published key parsed once (jwks-rsa hands out the same SigningKey object while it
   * caches it), and kept to verify with while the JWKS cannot be fetched again.
   */
  private readonly knownKeys = new Map<string, { source: SigningKey; publicKey: KeyObject }>();
  private readonly verified = new Map<string, { identity: Identity; validUntil: number }>();

  constructor(private readonly options: TokenVerifierOptions) {
    this.jwks = new JwksClient({
      jwksUri: options.jwksUri,
      cache: true,
      cacheMaxAge: options.cacheMaxAgeMs,
      rateLimit: true,
      jwksRequestsPerMinute: options.jwksRequestsPerMinute,
      timeout: options.fetchTimeoutMs,
    });
  }

  /**
   * Reads the whole JWKS now: keys published since the last read (the next signing key) are known
   * before any token names them, so a rotation never depends on the unknown-kid refetch budget,
   * which tokens with made-up kids can spend. Keys no longer published are forgotten.
   */
  async refreshKeys(): Promise<void> {
    const published = new Set<string>();
    for (const key of await this.jwks.getSigningKeys()) {
      if (!key.kid) continue;
      published.add(key.kid);
      if (!this.knownKeys.has(key.kid)) this.knownKeys.set(key.kid, { source: key, publicKey: createPublicKey(key.getPublicKey()) });
    }
    for (const kid of this.knownKeys.keys()) if (!published.has(kid)) this.knownKeys.delete(kid);
  }

  /** The identity a valid token carries; an AppError (401, or 503 when the keys cannot be fetched) otherwise. */
  async verify(token: string): Promise<Identity> {
    const remembered = this.verified.get(token);
    if (remembered && remembered.validUntil > Date.now()) return remembered.identity;
    if (remembered) this.verified.delete(token);
    const { identity, expiresAt } = await this.verifySignature(token);
    this.remember(token, identity, Math.min(expiresAt, Date.now() + VERIFIED_TOKEN_TTL_MS));
    return identity;
  }

  private remember(token: string, identity: Identity, validUntil: number): void {
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
      // Maps keep insertion order: the first key is the oldest entry.
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, { identity, validUntil });
  }

  private async verifySignature(token: string): Promise<{ identity: Identity; expiresAt: number }> {
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('The access token is malformed');
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded) throw invalidToken('The access token is malformed');
    // Checked before any key lookup, so forged headers cannot make the gateway fetch keys.
    if (decoded.header.alg !== ALGORITHM) throw invalidToken('The access token is not signed with an accepted algorithm');
    const { kid } = decoded.header;
    if (typeof kid !== 'string' || kid.length === 0) throw invalidToken('The access token names no signing key');
    const key = await this.publicKeyFor(kid);
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, {
        algorithms: [ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) throw tokenExpired();
      throw invalidToken('The access token is not valid');
    }
    return identityFrom(payload);
  }

  private async publicKeyFor(kid: string): Promise<KeyObject> {
    let signingKey: SigningKey;
    try {
      signingKey = await this.jwks.getSigningKey(kid);
    } catch (error) {
      if (error instanceof SigningKeyNotFoundError) {
        // Unknown even after a refetch, or retired since: either way the token's problem.
        this.knownKeys.delete(kid);
        throw invalidToken('The access token is signed with an unknown key');
      }
      // The keys could not be read again: a key verified with before is still good.
      const known = this.knownKeys.get(kid);
      if (known) return known.publicKey;
      // Refetches used up by made-up kids: one more unknown kid is the token's problem.
      if (error instanceof JwksRateLimitError) throw invalidToken('The access token is signed with an unknown key');
      // The auth-service is unreachable: a kid never seen cannot be judged, which is our problem.
      throw serviceUnavailable('Access tokens cannot be verified right now', 5);
    }
    const known = this.knownKeys.get(kid);
    if (known?.source === signingKey) return known.publicKey;
    const publicKey = createPublicKey(signingKey.getPublicKey());
    this.knownKeys.set(kid, { source: signingKey, publicKey });
    return publicKey;
  }
}

function identityFrom(payload: string | jwt.JwtPayload): { identity: Identity; expiresAt: number } {
  if (typeof payload === 'string') throw invalidToken('The access token has no claims');
  const claims: Readonly<Record<string, unknown>> = payload;
  const { sub, role, sid, exp } = claims;
  // jsonwebtoken accepts a token without `exp` as one that never expires; ours always carry one.
  if (typeof exp !== 'number') throw invalidToken('The access token has no expiry');
  if (typeof sub !== 'string' || !isUuid(sub) || typeof sid !== 'string' || !isUuid(sid) || !isRole(role)) {
    throw invalidToken('The access token lacks the expected claims');
  }
  return { identity: { userId: sub.toLowerCase(), role, sessionId: sid.toLowerCase() }, expiresAt: exp * 1000 };
}

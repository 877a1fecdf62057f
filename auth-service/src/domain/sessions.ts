import { randomUUID } from 'node:crypto';
import { unauthorized, type Database, type Transaction } from '@board/service-kit';
import { type Identity } from '@board/service-kit/contracts';
import { findCredentialsByEmail, findCredentialsById, updatePasswordHash } from '../data/credentials';
import {
  findRefreshTokenForUpdate,
  isCurrentRefreshToken,
  insertSession,
  listLiveSessions,
  revokeSession,
  revokeUserSessions,
  rotateRefreshToken,
  touchLiveSession,
} from '../data/sessions';
import type { AuthMetrics } from '../metrics';
import { publicUser, type PublicUser } from './accounts';
import type { AccessTokenIssuer, IssuedAccessToken } from './access-tokens';
import { canonical } from './credential-rules';
import type { Credentials } from './credentials';
import { doubleSubmittedCsrfToken, type PresentedRefresh } from './csrf';
import { csrfFailed, invalidCredentials, invalidRefreshToken, refreshTokenReused, sessionEnded } from './errors';
import type { LoginThrottle } from './login-throttle';
import type { PasswordHasher } from './passwords';
import type { RefreshTokenRecord } from './session';
import type { SessionRevocations } from './revocations';
import { randomToken, sameSecret, successorTokens, tokenHash } from './tokens';

/** What a client gets when it signs in or refreshes: the body, and the secrets that go into cookies. */
export interface SignedIn extends IssuedAccessToken {
  user: PublicUser;
  refreshToken: string;
  csrfToken: string;
  sessionExpiresAt: Date;
}

/** A login also tells the browser which device token to keep (see LoginThrottle). */
export interface LoggedIn extends SignedIn {
  deviceToken: string;
}

export interface Device {
  userAgent: string;
  ip: string | undefined;
}

export interface SessionListing {
  id: string;
  userAgent: string;
  ip: string | null;
  createdAt: string;
  lastUsedAt: string;
  current: boolean;
}

export interface SessionManagerDeps {
  db: Database;
  hasher: PasswordHasher;
  issuer: AccessTokenIssuer;
  revocations: SessionRevocations;
  metrics: AuthMetrics;
  sessionLifetimeSeconds: number;
  /** Derives a rotated refresh token's successor (see successorTokens). */
  successorKey: Buffer;
  /**
   * How long after a rotation the old refresh token still yields the same successor (two tabs
   * refreshing at once), instead of counting as reuse; 0 turns the window off.
   */
  reuseGraceMs: number;
  loginThrottle: LoginThrottle;
}

type RefreshDecision =
  | { kind: 'unknown' | 'ended' | 'csrf' }
  | { kind: 'reused'; revokedSessionId: string | undefined }
  | {
      kind: 'rotated';
      credentials: Credentials;
      sessionId: string;
      refreshToken: string;
      csrfToken: string;
      expiresAt: Date;
      /** The same successor again, within the grace window. */
      again?: boolean;
    };

/**
 * Sessions are refresh-token families: login starts one, each refresh swaps its token for a new
 * one, and a swapped-out token presented again means it leaked, so the whole family is revoked.
 */
export class SessionManager {
  constructor(private readonly deps: SessionManagerDeps) {}

  /**
   * An unknown email still costs one bcrypt compare (against a dummy hash of the same cost), so
   * both failures take as long and answer the same.
   */
  /** `deviceToken` is the one the browser kept from an earlier login, if any. */
  async login(email: string, password: string, device: Device, deviceToken?: string): Promise<LoggedIn> {
    const { db, hasher, metrics, loginThrottle } = this.deps;
    const account = canonical(email);
    const origin = { address: device.ip, deviceToken };
    try {
      await loginThrottle.check(account, origin);
    } catch (error) {
      metrics.logins.inc({ outcome: 'throttled' });
      throw error;
    }
    const credentials = await findCredentialsByEmail(db, account);
    const valid = await hasher.verify(password, credentials?.passwordHash);
    if (!credentials || !valid) {
      await loginThrottle.fail(account, origin);
      metrics.logins.inc({ outcome: 'invalid_credentials' });
      throw invalidCredentials();
    }
    if (hasher.needsRehash(credentials.passwordHash)) {
      await updatePasswordHash(db, credentials.userId, await hasher.hash(password));
    }
    const signedIn = await this.start(credentials, device);
    metrics.logins.inc({ outcome: 'success' });
    return { ...signedIn, deviceToken: loginThrottle.deviceTokenAfterLogin(account, deviceToken) };
  }

  /**
   * Exchanges a refresh token for a new one and a new access token carrying the user's current
   * role, once the CSRF token passed the double-submit check and is the session's own.
   */
  async refresh(presented: PresentedRefresh, device: Device): Promise<SignedIn> {
    const csrfToken = doubleSubmittedCsrfToken(presented);
    let decision: RefreshDecision;
    if (!presented.refreshToken) decision = { kind: 'unknown' };
    else if (!csrfToken) decision = { kind: 'csrf' };
    else decision = await this.rotate(presented.refreshToken, csrfToken, device);
    return this.settleRefresh(decision);
  }

  /** Logs out with the gateway-verified identity (the access token's session). */
  async logout(identity: Identity): Promise<void> {
    const { db, revocations } = this.deps;
    const revoked = await db.transaction(async (tx) => {
      if (!(await revokeSession(tx, identity.sessionId, identity.userId))) return false;
      await revocations.record(tx, identity.userId, [identity.sessionId], 'logout');
      return true;
    });
    if (revoked) await revocations.announce([identity.sessionId], 'logout');
  }

  /**
   * Logs out with the refresh cookie, for a client whose access token has expired. Logging out
   * of a session that has already ended is not an error; a wrong CSRF token is.
   */
  async logoutWithRefreshToken(presented: PresentedRefresh): Promise<void> {
    const { refreshToken } = presented;
    if (!refreshToken) throw unauthorized();
    const csrfToken = doubleSubmittedCsrfToken(presented);
    if (!csrfToken) throw csrfFailed();
    const revokedSessionId = await this.deps.db.transaction(async (tx) => {
      const record = await findRefreshTokenForUpdate(tx, tokenHash(refreshToken));
      if (!record?.live) return undefined;
      // A rotated token no longer matches the session's CSRF token; revoking its family is what
      // reuse detection would do anyway, so it needs no further proof.
      if (!record.rotated && !sameSecret(tokenHash(csrfToken), record.csrfHash)) throw csrfFailed();
      if (!(await revokeSession(tx, record.sessionId, record.userId))) return undefined;
      await this.deps.revocations.record(tx, record.userId, [record.sessionId], 'logout');
      return record.sessionId;
    });
    if (revokedSessionId) await this.deps.revocations.announce([revokedSessionId], 'logout');
  }

  async logoutEverywhere(identity: Identity): Promise<void> {
    const { db, revocations } = this.deps;
    const revoked = await db.transaction(async (tx) => {
      const sessionIds = await revokeUserSessions(tx, identity.userId);
      await revocations.record(tx, identity.userId, sessionIds, 'logout_all');
      return sessionIds;
    });
    await revocations.announce(revoked, 'logout_all');
  }

  async list(identity: Identity): Promise<SessionListing[]> {
    const sessions = await listLiveSessions(this.deps.db, identity.userId);
    return sessions.map((session) => ({
      id: session.id,
      userAgent: session.userAgent,
      ip: session.ip,
      createdAt: session.createdAt.toISOString(),
      lastUsedAt: session.lastUsedAt.toISOString(),
      current: session.id === identity.sessionId,
    }));
  }

  /** Revokes one of the caller's own live sessions; false when there is no such session. */
  async revoke(identity: Identity, sessionId: string): Promise<boolean> {
    const { db, revocations } = this.deps;
    const revoked = await db.transaction(async (tx) => {
      if (!(await revokeSession(tx, sessionId, identity.userId))) return false;
      await revocations.record(tx, identity.userId, [sessionId], 'session_delete');
      return true;
    });
    if (revoked) await revocations.announce([sessionId], 'session_delete');
    return revoked;
  }

  /**
   * Throws unless the identity's session is still live, and records that it was used. The gateway
   * checks Redis, but a revocation that never reached Redis must not keep a session usable here.
   */
  async requireLive(identity: Identity): Promise<void> {
    if (!(await touchLiveSession(this.deps.db, identity.sessionId, identity.userId))) throw sessionEnded();
  }

  /** Decides a refresh in one transaction; a reuse revokes the session and still commits. */
  private rotate(refreshToken: string, csrfToken: string, device: Device): Promise<RefreshDecision> {
    return this.deps.db.transaction(async (tx) => {
      const oldTokenHash = tokenHash(refreshToken);
      const record = await findRefreshTokenForUpdate(tx, oldTokenHash);
      if (!record) return { kind: 'unknown' };
      if (record.rotated) {
        const again = await this.rotatedAgain(tx, record, refreshToken);
        if (again) return again;
        if (!(await revokeSession(tx, record.sessionId, record.userId))) return { kind: 'reused', revokedSessionId: undefined };
        await this.deps.revocations.record(tx, record.userId, [record.sessionId], 'reuse_detected');
        return { kind: 'reused', revokedSessionId: record.sessionId };
      }
      if (!record.live) return { kind: 'ended' };
      if (!sameSecret(tokenHash(csrfToken), record.csrfHash)) return { kind: 'csrf' };
      const credentials = await findCredentialsById(tx, record.userId);
      if (!credentials) return { kind: 'ended' };
      const next = successorTokens(this.deps.successorKey, refreshToken);
      await rotateRefreshToken(tx, {
        sessionId: record.sessionId,
        oldTokenHash,
        newTokenHash: tokenHash(next.refreshToken),
        csrfHash: tokenHash(next.csrfToken),
        ip: device.ip,
      });
      return { kind: 'rotated', credentials, sessionId: record.sessionId, expiresAt: record.expiresAt, ...next };
    });
  }

  /**
   * A token rotated a moment ago, presented again (a second tab refreshing at the same time as the
   * first): within the grace window, while its successor is still the session's current token, it
   * gets that same successor, so both tabs end up holding one token. The CSRF check is the double
   * submit only: the session's stored hash already belongs to the successor's CSRF token.
   */
  private async rotatedAgain(tx: Transaction, record: RefreshTokenRecord, refreshToken: string): Promise<RefreshDecision | undefined> {
    if (!record.live || record.rotatedMsAgo === null || record.rotatedMsAgo >= this.deps.reuseGraceMs) return undefined;
    const successor = successorTokens(this.deps.successorKey, refreshToken);
    if (!(await isCurrentRefreshToken(tx, tokenHash(successor.refreshToken)))) return undefined;
    const credentials = await findCredentialsById(tx, record.userId);
    if (!credentials) return { kind: 'ended' };
    return { kind: 'rotated', credentials, sessionId: record.sessionId, expiresAt: record.expiresAt, ...successor, again: true };
  }

  private async start(credentials: Credentials, device: Device): Promise<SignedIn> {
    const sessionId = randomUUID();
    const refreshToken = randomToken();
    const csrfToken = randomToken();
    const expiresAt = await this.deps.db.transaction((tx) =>
      insertSession(
        tx,
        {
          id: sessionId,
          userId: credentials.userId,
          userAgent: device.userAgent,
          ip: device.ip,
          csrfHash: tokenHash(csrfToken),
          lifetimeSeconds: this.deps.sessionLifetimeSeconds,
        },
        tokenHash(refreshToken),
      ),
    );
    return this.signedIn(credentials, sessionId, refreshToken, csrfToken, expiresAt);
  }

  private async settleRefresh(decision: RefreshDecision): Promise<SignedIn> {
    const { metrics, revocations } = this.deps;
    switch (decision.kind) {
      case 'rotated':
        metrics.refreshes.inc({ outcome: decision.again ? 'grace' : 'rotated' });
        return this.signedIn(decision.credentials, decision.sessionId, decision.refreshToken, decision.csrfToken, decision.expiresAt);
      case 'reused':
        metrics.refreshes.inc({ outcome: 'reuse_detected' });
        if (decision.revokedSessionId) await revocations.announce([decision.revokedSessionId], 'reuse_detected');
        throw refreshTokenReused();
      case 'csrf':
        metrics.refreshes.inc({ outcome: 'rejected' });
        throw csrfFailed();
      case 'unknown':
      case 'ended':
        metrics.refreshes.inc({ outcome: 'rejected' });
        throw invalidRefreshToken();
    }
  }

  private signedIn(credentials: Credentials, sessionId: string, refreshToken: string, csrfToken: string, sessionExpiresAt: Date): SignedIn {
    const token = this.deps.issuer.issue({ userId: credentials.userId, role: credentials.role, sessionId });
    return { ...token, user: publicUser(credentials), refreshToken, csrfToken, sessionExpiresAt };
  }
}

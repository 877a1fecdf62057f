import type { Redis } from 'ioredis';

/**
 * Revoked sessions and users, shared through Redis: auth-service and user-service write, the
 * gateway refuses tokens that carry a revoked session or user, and the realtime-service closes
 * their streams when told on the pub/sub channel. Keys live as long as an access token can,
 * after which a revoked token would be refused as expired anyway.
 */
export class RevocationList {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = '',
    /** At least the longest access-token lifetime. */
    private readonly ttlSeconds = 3_600,
  ) {}

  get channel(): string {
    return `${this.prefix}revocations`;
  }

  private sessionKey(sessionId: string) {
    return `${this.prefix}revoked:session:${sessionId}`;
  }

  private userKey(userId: string) {
    return `${this.prefix}revoked:user:${userId}`;
  }

  async revokeSessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const multi = this.redis.multi();
    for (const sessionId of sessionIds) multi.set(this.sessionKey(sessionId), '1', 'EX', this.ttlSeconds);
    multi.publish(this.channel, JSON.stringify({ sessionIds }));
    await multi.exec();
  }

  async revokeUser(userId: string): Promise<void> {
    await this.redis
      .multi()
      .set(this.userKey(userId), '1', 'EX', this.ttlSeconds)
      .publish(this.channel, JSON.stringify({ userId }))
      .exec();
  }

  async isRevoked(sessionId: string, userId: string): Promise<boolean> {
    const [session, user] = await this.redis.mget(this.sessionKey(sessionId), this.userKey(userId));
    return session !== null || user !== null;
  }
}

/** What the revocations channel carries. */
export interface RevocationNotice {
  sessionIds?: string[];
  userId?: string;
}

export function parseRevocationNotice(message: string): RevocationNotice {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return {};
    const { sessionIds, userId } = value as Record<string, unknown>;
    return {
      ...(Array.isArray(sessionIds) ? { sessionIds: sessionIds.filter((id): id is string => typeof id === 'string') } : {}),
      ...(typeof userId === 'string' ? { userId } : {}),
    };
  } catch {
    return {};
  }
}

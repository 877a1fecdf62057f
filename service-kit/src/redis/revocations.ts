import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isRole, type Role } from '../contracts/roles';

/** What stands against a token of this session and user. */
export interface TokenStanding {
  /** The session or the whole user was revoked. */
  revoked: boolean;
  /**
   * The user's role as last changed, if it changed within an access token's lifetime: a token
   * issued before the change still carries the old one, and must not act with more.
   */
  role?: Role;
}

/** Answers, in one lookup, whether a session or its user has been revoked and what the user's role now is. */
export interface RevocationCheck {
  standing(sessionId: string, userId: string): Promise<TokenStanding>;
}

/** A user's role as of the change that left the user at `version` (the event's aggregateVersion). */
export interface RoleChange {
  userId: string;
  role: Role;
  version: number;
}

/** Every revocation Redis still holds, as RevocationList.recorded() lists them. */
export interface RecordedRevocations {
  sessionIds: string[];
  userIds: string[];
  roles: RoleChange[];
}

/**
 * Sets the role record unless a later change is recorded, and announces it, atomically: two
 * writers (user-service at once, auth-service when it applies the event) may arrive in any order,
 * and changes are ordered by the user's version, never by a clock.
 */
const RECORD_ROLE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and tonumber(decoded.version) and tonumber(decoded.version) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1
`;

/**
 * Revoked sessions and users, shared through Redis: auth-service and user-service write, the
 * gateway refuses tokens that carry a revoked session or user, and the realtime-service closes
 * their streams when told on the pub/sub channel. Keys live as long as an access token can,
 * after which a revoked token would be refused as expired anyway.
 */
export class RevocationList implements RevocationCheck {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = '',
    /** At least the longest access-token lifetime. */
    private readonly ttlSeconds = 3_600,
  ) {}

  get channel(): string {
    return `${this.prefix}revocations`;
  }

  /** How long a revocation is kept: past that, the tokens it refuses have expired anyway. */
  get ttlMs(): number {
    return this.ttlSeconds * 1_000;
  }

  private sessionKey(sessionId: string) {
    return `${this.prefix}revoked:session:${sessionId}`;
  }

  private userKey(userId: string) {
    return `${this.prefix}revoked:user:${userId}`;
  }

  private roleKey(userId: string) {
    return `${this.prefix}revoked:role:${userId}`;
  }

  /**
   * Records a role change and announces it. Kept for a token's lifetime from the last write, so
   * the writer that applies the change last (auth-service, which issues tokens) decides how long
   * tokens issued with the old role can still be seen.
   */
  async recordRole(change: RoleChange): Promise<void> {
    const value = JSON.stringify({ role: change.role, version: change.version });
    const notice = JSON.stringify({ role: change });
    await this.redis.eval(RECORD_ROLE_SCRIPT, 2, this.roleKey(change.userId), this.channel, value, String(change.version), String(this.ttlSeconds), notice);
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

  async standing(sessionId: string, userId: string): Promise<TokenStanding> {
    const [session, user, role] = await this.redis.mget(this.sessionKey(sessionId), this.userKey(userId), this.roleKey(userId));
    const change = parseRoleRecord(userId, role ?? null);
    return { revoked: session !== null || user !== null, ...(change ? { role: change.role } : {}) };
  }

  async isRevoked(sessionId: string, userId: string): Promise<boolean> {
    return (await this.standing(sessionId, userId)).revoked;
  }

  /** Every revocation still recorded (SCAN, so Redis is never blocked by a long list). */
  async recorded(): Promise<RecordedRevocations> {
    const sessionPrefix = this.sessionKey('');
    const userPrefix = this.userKey('');
    const rolePrefix = this.roleKey('');
    const recorded: RecordedRevocations = { sessionIds: [], userIds: [], roles: [] };
    for await (const keys of this.redis.scanStream({ match: `${this.prefix}revoked:*`, count: 1_000 })) {
      const roleKeys: string[] = [];
      for (const key of keys as string[]) {
        if (key.startsWith(sessionPrefix)) recorded.sessionIds.push(key.slice(sessionPrefix.length));
        else if (key.startsWith(userPrefix)) recorded.userIds.push(key.slice(userPrefix.length));
        else if (key.startsWith(rolePrefix)) roleKeys.push(key);
      }
      if (roleKeys.length === 0) continue;
      const values = await this.redis.mget(...roleKeys);
      roleKeys.forEach((key, index) => {
        const change = parseRoleRecord(key.slice(rolePrefix.length), values[index] ?? null);
        if (change) recorded.roles.push(change);
      });
    }
    return recorded;
  }
}

export interface RevocationMirrorOptions {
  list: RevocationList;
  /** Answers what the mirror cannot while out of step; the list itself (Redis) by default. */
  fallback?: RevocationCheck;
  /** A connection of its own: once subscribed, it can do nothing else. */
  subscriber: Redis;
  logger: Logger;
  /** Told whenever the mirror starts or stops being complete (for a metric). */
  onSyncChange?: (synced: boolean) => void;
  /** Wait before trying again when a sync fails while the subscription stays up. */
  retryDelayMs?: number;
}

/** How often entries older than a token's lifetime are dropped. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * This process's copy of the revocation list, for a caller that checks every request (the
 * gateway): a lookup in memory instead of a Redis round trip. It subscribes to the revocation
 * notices first and then reads what Redis already holds, so nothing falls between the two; every
 * revocation is written together with its notice (MULTI), so a notice arrives for each one.
 *
 * A subscription can drop notices only by dropping the connection; from then until the next sync
 * completes, a revocation the copy does not know is asked of Redis, as without a mirror.
 */
export class RevocationMirror implements RevocationCheck {
  /** Revoked ids, each with the time after which it can be forgotten. */
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, number>();
  private readonly roles = new Map<string, RoleChange & { forgetAt: number }>();
  private synced = false;
  /** Bumped whenever the subscription drops, so a sync that began before cannot claim completeness. */
  private generation = 0;
  private pruneTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly options: RevocationMirrorOptions) {
    this.log = options.logger.child({ component: 'revocation-mirror' });
  }

  /** True while every revocation is known here, so that no lookup needs Redis. */
  get isSynced(): boolean {
    return this.synced;
  }

  start(): void {
    const { subscriber, list } = this.options;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === list.channel) this.remember(parseRevocationNotice(message));
    });
    // The kit's client queues nothing while disconnected, so subscribe on every (re)connection.
    subscriber.on('ready', () => void this.sync());
    subscriber.on('close', () => this.lose());
    if (subscriber.status === 'ready') void this.sync();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.pruneTimer);
    clearTimeout(this.retryTimer);
    this.generation += 1;
    this.setSynced(false);
  }

  async standing(sessionId: string, userId: string): Promise<TokenStanding> {
    const now = Date.now();
    const known = this.roles.get(userId);
    const role = known && isCurrent(known.forgetAt, now) ? known.role : undefined;
    const revoked = isCurrent(this.sessions.get(sessionId), now) || isCurrent(this.users.get(userId), now);
    if (revoked || this.synced) return { revoked, ...(role ? { role } : {}) };
    // Out of step: what this copy knows still counts, and Redis may know more.
    const asked = await (this.options.fallback ?? this.options.list).standing(sessionId, userId);
    return { revoked: asked.revoked, ...((asked.role ?? role) ? { role: asked.role ?? role } : {}) };
  }

  async isRevoked(sessionId: string, userId: string): Promise<boolean> {
    return (await this.standing(sessionId, userId)).revoked;
  }

  private async sync(): Promise<void> {
    const { subscriber, list } = this.options;
    const generation = ++this.generation;
    clearTimeout(this.retryTimer);
    try {
      await subscriber.subscribe(list.channel);
      const recorded = await list.recorded();
      if (generation !== this.generation) return;
      this.remember({ sessionIds: recorded.sessionIds });
      for (const userId of recorded.userIds) this.remember({ userId });
      for (const role of recorded.roles) this.remember({ role });
      this.setSynced(true);
      this.log.info(
        { sessions: recorded.sessionIds.length, users: recorded.userIds.length, roles: recorded.roles.length },
        'revocation mirror in sync',
      );
    } catch (error) {
      if (generation !== this.generation) return;
      this.log.warn({ err: error }, 'could not sync the revocation mirror; asking Redis meanwhile');
      this.retryTimer = setTimeout(() => {
        if (generation === this.generation) void this.sync();
      }, this.options.retryDelayMs ?? 1_000).unref();
    }
  }

  private lose(): void {
    this.generation += 1;
    if (!this.synced) return;
    this.setSynced(false);
    this.log.warn('lost the revocation notices; asking Redis until the mirror is in sync again');
  }

  private setSynced(synced: boolean): void {
    if (this.synced === synced) return;
    this.synced = synced;
    this.options.onSyncChange?.(synced);
  }

  private remember({ sessionIds, userId, role }: RevocationNotice): void {
    const forgetAt = Date.now() + this.options.list.ttlMs;
    for (const sessionId of sessionIds ?? []) this.sessions.set(sessionId, forgetAt);
    if (userId) this.users.set(userId, forgetAt);
    if (role) {
      // Notices and a sync can cross: an older change never replaces a newer one.
      const known = this.roles.get(role.userId);
      if (!known || known.version <= role.version) this.roles.set(role.userId, { ...role, forgetAt });
    }
  }

  private prune(): void {
    const now = Date.now();
    for (const entries of [this.sessions, this.users]) {
      for (const [id, forgetAt] of entries) if (!isCurrent(forgetAt, now)) entries.delete(id);
    }
    for (const [id, { forgetAt }] of this.roles) if (!isCurrent(forgetAt, now)) this.roles.delete(id);
  }
}

const isCurrent = (forgetAt: number | undefined, now: number): boolean => forgetAt !== undefined && forgetAt > now;

/** What the revocations channel carries: revoked sessions, a revoked user, or a user's new role. */
export interface RevocationNotice {
  sessionIds?: string[];
  userId?: string;
  role?: RoleChange;
}

export function parseRevocationNotice(message: string): RevocationNotice {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return {};
    const { sessionIds, userId, role } = value as Record<string, unknown>;
    const change = parseRoleChange(role);
    return {
      ...(Array.isArray(sessionIds) ? { sessionIds: sessionIds.filter((id): id is string => typeof id === 'string') } : {}),
      ...(typeof userId === 'string' ? { userId } : {}),
      ...(change ? { role: change } : {}),
    };
  } catch {
    return {};
  }
}

function parseRoleChange(value: unknown): RoleChange | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { userId, role, version } = value as Record<string, unknown>;
  if (typeof userId !== 'string' || !isRole(role) || typeof version !== 'number' || !Number.isInteger(version)) return undefined;
  return { userId, role, version };
}

function parseRoleRecord(userId: string, value: string | null): RoleChange | undefined {
  if (value === null) return undefined;
  try {
    return parseRoleChange({ ...(JSON.parse(value) as object), userId });
  } catch {
    return undefined;
  }
}

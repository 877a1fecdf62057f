import { MemoryStore, type ClientRateLimitInfo, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Redis } from '@board/service-kit';
import type { OutageReporter } from '../outage';

/** A store call that failed because Redis is away; already reported, so not logged again. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('The rate-limit store is unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The Redis store, shared by every gateway replica, made to live through Redis outages: failures
 * are reported once per outage, and the counting script is loaded again after a failure.
 * (rate-limit-redis loads it once, in init(); when Redis is away at that moment, every later
 * call would await the same failed load forever.)
 */
export class ResilientRedisStore extends RedisStore {
  constructor(
    redis: Redis,
    prefix: string,
    private readonly outage: OutageReporter,
  ) {
    super({ prefix, sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply> });
  }

  override async increment(key: string): Promise<IncrementResponse> {
    try {
      const result = await super.increment(key);
      this.outage.succeeded();
      return result;
    } catch (error) {
      this.outage.failed(error);
      this.reloadScript();
      throw new StoreUnavailableError(error);
    }
  }

  override async decrement(key: string): Promise<void> {
    try {
      await super.decrement(key);
    } catch (error) {
      this.outage.failed(error);
      throw new StoreUnavailableError(error);
    }
  }

  private reloadScript(): void {
    this.incrementScriptSha = this.loadIncrementScript();
    // Awaited by the next increment; a failure here is that increment's failure, reported then.
    this.incrementScriptSha.catch(() => undefined);
  }
}

/**
 * Counts in Redis while it answers and in this replica's memory while it does not, so a limit
 * that guards credentials still bounds brute force during a Redis outage (per replica, not
 * across replicas).
 */
export class FailoverStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly fallback = new MemoryStore();

  constructor(private readonly primary: ResilientRedisStore) {
    this.prefix = primary.prefix;
  }

  init(options: Options): Promise<void> {
    this.fallback.init(options);
    return this.primary.init(options);
  }

  async increment(key: string): Promise<IncrementResponse> {
    try {
      return await this.primary.increment(key);
    } catch {
      return this.fallback.increment(key);
    }
  }

  async decrement(key: string): Promise<void> {
    try {
      await this.primary.decrement(key);
    } catch {
      await this.fallback.decrement(key);
    }
  }

  async resetKey(key: string): Promise<void> {
    await this.fallback.resetKey(key);
    await this.primary.resetKey(key);
  }

  shutdown(): void {
    this.fallback.shutdown();
  }
}

/** Adds `n` hits to a key's count, starting the window on the first; answers the new count and the window's time left. */
const LEASE_SCRIPT = `
local total = redis.call("INCRBY", KEYS[1], ARGV[1])
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return { total, ttl }`;

/** Gives one hit back, never below zero, and never creates the key. */
const RETURN_SCRIPT = `
local total = tonumber(redis.call("GET", KEYS[1]) or "0")
if total > 0 then redis.call("DECR", KEYS[1]) end
return 0`;

/** A share of one key's window taken from Redis: hit numbers `next`..`last`, this replica's to hand out. */
interface Lease {
  next: number;
  last: number;
  resetAt: number;
}

export interface LeasingStoreOptions {
  prefix: string;
  /** The limit the store serves: once a lease reaches it, later hits in the window are refused without asking Redis. */
  limit: number;
  /** Hits taken from Redis at a time. */
  leaseSize: number;
  /** Leases held at most (one per client seen in the window); the oldest is dropped beyond. */
  maxLeases?: number;
}

/**
 * Bounds the memory a flood of client addresses can take (~100 bytes a lease). Dropping a lease is
 * always safe: its unspent hits stay counted in Redis and are never handed out again.
 */
const DEFAULT_MAX_LEASES = 100_000;

/** A lease is at most this share of the limit (so one hit at a time, exact, for limits under 80)... */
const LEASE_SHARE_OF_LIMIT = 1 / 40;
/** ...and at most this many hits. */
const MAX_LEASE = 50;

/** The lease size that keeps a limit's budget within a few per cent of exact (see LeasingRedisStore). */
export const leaseSizeFor = (limit: number): number => Math.max(1, Math.min(MAX_LEASE, Math.floor(limit * LEASE_SHARE_OF_LIMIT)));

/**
 * A fixed-window counter in Redis, shared by every gateway replica, that takes hits from Redis a
 * few at a time instead of one per request. Each replica leases a run of hit numbers with one
 * INCRBY and hands them out from memory until they are spent or the window ends, so a client's
 * requests cost one Redis round trip per lease instead of one each (a round trip is CPU on both
 * sides and a hop in the request's path).
 *
 * The budget is still shared and never overspent: every hit a replica admits was counted in Redis
 * first. What leasing costs is precision the other way: hits leased but not used by one replica
 * count against the client on the others, so a client spread over R replicas may be refused up to
 * (R - 1) x leaseSize hits early in a window (2.5% of the limit per extra replica with
 * leaseSizeFor). Once a lease reaches the limit, the rest of the window is refused locally.
 */
export class LeasingRedisStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly leases = new Map<string, Lease>();
  /** Lease requests under way, shared by the requests of one client that arrive meanwhile. */
  private readonly renewals = new Map<string, Promise<void>>();
  private windowMs = 60_000;
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly outage: OutageReporter,
    private readonly options: LeasingStoreOptions,
  ) {
    this.prefix = options.prefix;
  }

  init({ windowMs }: Options): void {
    this.windowMs = windowMs;
    clearInterval(this.pruneTimer);
    this.pruneTimer = setInterval(() => this.pruneEnded(), windowMs);
    this.pruneTimer.unref();
  }

  async increment(key: string): Promise<IncrementResponse> {
    for (;;) {
      const hit = this.takeHit(key);
      if (hit) return hit;
      await this.renew(key);
    }
  }

  async decrement(key: string): Promise<void> {
    // The hit goes back to the shared count, where the next lease (of any replica) picks it up.
    await this.guarded(() => this.redis.eval(RETURN_SCRIPT, 1, this.prefix + key));
  }

  async resetKey(key: string): Promise<void> {
    this.leases.delete(key);
    await this.guarded(() => this.redis.del(this.prefix + key));
  }

  shutdown(): void {
    clearInterval(this.pruneTimer);
  }

  /** The next hit number from this replica's lease, if it has one for the current window. */
  private takeHit(key: string): ClientRateLimitInfo | undefined {
    const lease = this.leases.get(key);
    if (!lease || lease.resetAt <= Date.now()) return undefined;
    // Past the limit nothing another lease could bring would be admitted: count on locally.
    if (lease.next > lease.last && lease.last < this.options.limit) return undefined;
    const totalHits = lease.next;
    lease.next += 1;
    return { totalHits, resetTime: new Date(lease.resetAt) };
  }

  private renew(key: string): Promise<void> {
    let renewal = this.renewals.get(key);
    if (!renewal) {
      renewal = this.lease(key).finally(() => this.renewals.delete(key));
      this.renewals.set(key, renewal);
    }
    return renewal;
  }

  private async lease(key: string): Promise<void> {
    const { leaseSize } = this.options;
    const reply = await this.guarded(() => this.redis.eval(LEASE_SCRIPT, 1, this.prefix + key, leaseSize, this.windowMs));
    const [total, ttl] = (reply as [number, number]).map(Number) as [number, number];
    // Deleted first so that the Map's order stays the order of the latest leases: the first is the oldest.
    this.leases.delete(key);
    if (this.leases.size >= (this.options.maxLeases ?? DEFAULT_MAX_LEASES)) this.leases.delete(this.leases.keys().next().value!);
    this.leases.set(key, { next: total - leaseSize + 1, last: total, resetAt: Date.now() + ttl });
  }

  private async guarded<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      this.outage.succeeded();
      return result;
    } catch (error) {
      this.outage.failed(error);
      throw new StoreUnavailableError(error);
    }
  }

  private pruneEnded(): void {
    const now = Date.now();
    for (const [key, lease] of this.leases) if (lease.resetAt <= now) this.leases.delete(key);
  }
}

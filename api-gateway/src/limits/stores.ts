import { MemoryStore, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
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

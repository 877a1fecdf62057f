import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError } from '../http/errors';

export interface FailureLimitOptions {
  /** Failures allowed per key and window; the next attempt is refused until the window ends. */
  max: number;
  windowMs: number;
}

/**
 * Bounds guessing of a secret a signed-in user may try (a passcode, the old password): failures
 * per key (the user) are counted in Redis in fixed windows, shared by every replica, and once
 * `max` are spent, attempts are refused with 429 until the window ends. Successes cost nothing.
 * While Redis is away the attempt is allowed and the outage logged: the request path must not
 * depend on Redis, and each attempt is still one guess, not a flood (the gateway limits clients).
 */
export class FailureLimit {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly options: FailureLimitOptions,
    private readonly logger: Logger,
  ) {}

  /** Throws 429 TOO_MANY_REQUESTS (with Retry-After) when `key` has no failures left in this window. */
  async check(key: string): Promise<void> {
    let counted: [string | null, number];
    try {
      const [count, ttl] = await Promise.all([this.redis.get(this.key(key)), this.redis.pttl(this.key(key))]);
      counted = [count, ttl];
    } catch (error) {
      this.logger.warn({ err: error }, 'failure limit unavailable (Redis); allowing the attempt');
      return;
    }
    const [count, ttlMs] = counted;
    if (count === null || Number(count) < this.options.max) return;
    const retryAfter = Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : this.options.windowMs) / 1_000));
    throw new AppError(429, 'TOO_MANY_REQUESTS', 'Too many wrong attempts; try again later', undefined, { 'Retry-After': String(retryAfter) });
  }

  /** Counts a failure of `key`; the window starts with its first failure. */
  async fail(key: string): Promise<void> {
    await this.redis
      .multi()
      .incr(this.key(key))
      .pexpire(this.key(key), this.options.windowMs, 'NX')
      .exec()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not count a failure (Redis)'));
  }

  private key(key: string): string {
    return `${this.keyPrefix}${key}`;
  }
}

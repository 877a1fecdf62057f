import { createHash } from 'node:crypto';
import { rateLimit, type Logger as LimiterLogger, type Options, type RateLimitRequestHandler } from 'express-rate-limit';
import { AppError, type Logger, type Redis } from '@board/service-kit';
import type { GatewayConfig } from '../config';
import type { GatewayMetrics } from '../metrics';
import { OutageReporter } from '../outage';
import { isCredentialAttempt, isLoginAttempt, routingPath } from '../routes';
import { loginEmailOf } from '../body';
import { FailoverStore, ResilientRedisStore, StoreUnavailableError } from './stores';

export interface RateLimits {
  /** Every /api request, per client IP. Fails open while Redis is away. */
  readonly perClient: RateLimitRequestHandler;
  /** Login and register, per client IP. Counts in memory while Redis is away. */
  readonly credentialsPerClient: RateLimitRequestHandler;
  /** Failed logins per account (email). Counts in memory while Redis is away. */
  readonly loginsPerAccount: RateLimitRequestHandler;
  /** Stops the in-memory fallback counters' timers. */
  shutdown(): void;
}

export interface RateLimitDeps {
  config: GatewayConfig;
  redis: Redis;
  logger: Logger;
  metrics: GatewayMetrics;
}

const tooManyRequests: Options['handler'] = (_req, _res, next) => {
  next(new AppError(429, 'TOO_MANY_REQUESTS', 'Too many requests; try again later'));
};

/** express-rate-limit's own complaints (misconfiguration) go to our log; store outages are reported by the store. */
const limiterLogger = (logger: Logger): LimiterLogger => ({
  warn: (error, message) => logger.warn({ err: error }, message ?? 'rate limiter warning'),
  error: (error, message) => {
    if (!(error instanceof StoreUnavailableError)) logger.error({ err: error }, message ?? 'rate limiter error');
  },
});

/** Keeps email addresses out of Redis keys. */
const accountKey = (email: string) => `account:${createHash('sha256').update(email).digest('base64url')}`;

export function createRateLimits({ config, redis, logger, metrics }: RateLimitDeps): RateLimits {
  const redisStore = (name: string, meanwhile: string) =>
    new ResilientRedisStore(
      redis,
      `${config.REDIS_KEY_PREFIX}rl:${name}:`,
      new OutageReporter(logger, metrics.redisFailures.labels(`rate_limit_${name}`), { what: `rate limit "${name}"`, meanwhile }),
    );
  const common = {
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: tooManyRequests,
    logger: limiterLogger(logger),
  } satisfies Partial<Options>;

  const credentialsStore = new FailoverStore(redisStore('credentials', 'counting in this replica only'));
  const accountStore = new FailoverStore(redisStore('account', 'counting in this replica only'));

  return {
    perClient: rateLimit({
      ...common,
      identifier: 'per-client',
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      limit: config.RATE_LIMIT_MAX,
      // A Redis outage must not take the whole API down with it.
      store: redisStore('client', 'requests pass without a limit'),
      passOnStoreError: true,
    }),
    credentialsPerClient: rateLimit({
      ...common,
      identifier: 'credentials',
      windowMs: config.AUTH_RATE_LIMIT_WINDOW_MS,
      limit: config.AUTH_RATE_LIMIT_MAX,
      store: credentialsStore,
      skip: (req) => !isCredentialAttempt(req.method, routingPath(req)),
    }),
    loginsPerAccount: rateLimit({
      ...common,
      identifier: 'account',
      windowMs: config.AUTH_RATE_LIMIT_WINDOW_MS,
      limit: config.ACCOUNT_RATE_LIMIT_MAX,
      store: accountStore,
      // Only failed attempts count, so a user who logs in often is never locked out by it.
      skipSuccessfulRequests: true,
      skip: (req) => !isLoginAttempt(req.method, routingPath(req)) || loginEmailOf(req) === undefined,
      keyGenerator: (req) => accountKey(loginEmailOf(req) ?? ''),
    }),
    shutdown: () => {
      credentialsStore.shutdown();
      accountStore.shutdown();
    },
  };
}

import type { Request } from 'express';
import { ipKeyGenerator, rateLimit, type Logger as LimiterLogger, type Options, type RateLimitRequestHandler } from 'express-rate-limit';
import { AppError, type Logger, type Redis } from '@board/service-kit';
import type { Config } from '../config';
import type { GatewayMetrics } from '../metrics';
import { OutageReporter } from '../outage';
import { FailoverStore, LeasingRedisStore, leaseSizeFor, ResilientRedisStore, StoreUnavailableError } from './stores';

export interface RateLimits {
  /** Every /api request, per client IP, counted in leases (see LeasingRedisStore). Fails open while Redis is away. */
  readonly perClient: RateLimitRequestHandler;
  /** Login and register, per client IP. Counts in memory while Redis is away. */
  readonly credentialsPerClient: RateLimitRequestHandler;
  /** Stops the in-memory fallback counters' timers. */
  shutdown(): void;
}

export interface RateLimitDeps {
  config: Config;
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

const CLIENT_KEYS_REMEMBERED = 10_000;

/**
 * The client's key, as express-rate-limit's default makes it (an IPv6 client by its /56 network,
 * an IPv4-mapped address as plain IPv4), remembered per address: a client keeps its address
 * across many requests, so it is parsed once rather than on every request.
 */
export function clientKeyGenerator(): (req: Request) => string {
  const keys = new Map<string, string>();
  return (req) => {
    const ip = req.ip ?? req.socket.remoteAddress ?? '';
    let key = keys.get(ip);
    if (key === undefined) {
      key = ipKeyGenerator(ip);
      if (keys.size >= CLIENT_KEYS_REMEMBERED) keys.clear();
      keys.set(ip, key);
    }
    return key;
  };
}

export function createRateLimits({ config, redis, logger, metrics }: RateLimitDeps): RateLimits {
  const keyPrefix = (name: string) => `${config.REDIS_KEY_PREFIX}rl:${name}:`;
  const outageReporter = (name: string, meanwhile: string) =>
    new OutageReporter(logger, metrics.redisFailures.labels(`rate_limit_${name}`), { what: `rate limit "${name}"`, meanwhile });
  const redisStore = (name: string, meanwhile: string) => new ResilientRedisStore(redis, keyPrefix(name), outageReporter(name, meanwhile));
  const common = {
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: tooManyRequests,
    logger: limiterLogger(logger),
  } satisfies Partial<Options>;

  const clientKey = clientKeyGenerator();
  const credentialsStore = new FailoverStore(redisStore('credentials', 'counting in this replica only'));
  // Every request passes this one: it takes its hits from Redis a few at a time.
  const clientStore = new LeasingRedisStore(redis, outageReporter('client', 'requests pass without a limit'), {
    prefix: keyPrefix('client'),
    limit: config.RATE_LIMIT_MAX,
    leaseSize: leaseSizeFor(config.RATE_LIMIT_MAX),
  });

  return {
    perClient: rateLimit({
      ...common,
      identifier: 'per-client',
      windowMs: config.RATE_LIMIT_WINDOW_MS,
      limit: config.RATE_LIMIT_MAX,
      // A Redis outage must not take the whole API down with it.
      store: clientStore,
      passOnStoreError: true,
      keyGenerator: clientKey,
    }),
    credentialsPerClient: rateLimit({
      ...common,
      identifier: 'credentials',
      windowMs: config.AUTH_RATE_LIMIT_WINDOW_MS,
      limit: config.AUTH_RATE_LIMIT_MAX,
      store: credentialsStore,
      keyGenerator: clientKey,
    }),
    shutdown: () => {
      clientStore.shutdown();
      credentialsStore.shutdown();
    },
  };
}

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Lifecycle } from '../runtime/lifecycle';

export { Redis } from 'ioredis';

/**
 * A Redis client that fails fast while Redis is away (no offline queue), so callers on the request
 * path can decide to fail open or closed instead of hanging, and reconnects by itself. Leave
 * commandTimeoutMs unset for a subscriber connection, which waits on purpose.
 */
export function createRedis(url: string, logger: Logger, name: string, options: { commandTimeoutMs?: number } = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    // A Redis that hangs without dropping the connection must not hold requests forever.
    commandTimeout: options.commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 3_000),
  });
  let warned = false;
  redis.on('error', (error: unknown) => {
    // ioredis reports every failed reconnect; one warning per outage is enough.
    if (!warned) logger.warn({ err: error, component: 'redis', connection: name }, 'Redis unavailable');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) logger.info({ component: 'redis', connection: name }, 'Redis is back');
    warned = false;
  });
  return redis;
}

/** Resolves once the client is ready, rejecting after `timeoutMs`. */
export function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    function onReady() {
      clearTimeout(timer);
      resolve();
    }
    redis.once('ready', onReady);
  });
}

export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

export interface OpenRedisOptions {
  url: string;
  logger: Logger;
  lifecycle: Lifecycle;
  /** The connection's name, also the component its stop is logged as. */
  name: string;
  commandTimeoutMs?: number;
  /**
   * How long the start waits for Redis to be ready. A service whose requests do not depend on
   * Redis starts without it (and logs so); leave unset not to wait at all.
   */
  startupWaitMs?: number;
}

/** A Redis client (createRedis) that closes with the service, opened the one way every service does. */
export async function openRedis({ url, logger, lifecycle, name, commandTimeoutMs, startupWaitMs }: OpenRedisOptions): Promise<Redis> {
  const redis = createRedis(url, logger, name, { commandTimeoutMs });
  lifecycle.onStop(name, () => closeRedis(redis));
  if (startupWaitMs !== undefined) {
    await redisReady(redis, startupWaitMs).catch((error: unknown) =>
      logger.warn({ err: error, connection: name }, 'Redis is not ready; starting without it until it is'),
    );
  }
  return redis;
}

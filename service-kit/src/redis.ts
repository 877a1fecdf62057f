import { Redis } from 'ioredis';
import type { Logger } from 'pino';

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

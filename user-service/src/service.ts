import path from 'node:path';
import {
  FailureLimit,
  RevocationList,
  checks,
  openRedis,
  openDatabase,
  startMessaging,
  startService,
  startUpkeep,
  type AmqpConnection,
  type Database,
  type EventServiceStartOptions,
  type Redis,
  type StartedService,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { Directory } from './domain/directory';
import { CONSUMED_EVENTS, CONSUMER, eventHandler } from './events/handlers';
import { createUserMetrics } from './metrics';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
/** Wrong membership passcodes per user: 5 in 15 minutes. */
const PASSCODE_FAILURES = { max: 5, windowMs: 900_000 };

export type StartOptions = EventServiceStartOptions;

export interface RunningService extends StartedService {
  db: Database;
  redis: Redis;
  amqp: AmqpConnection;
}

/** Wires user-service to its real dependencies and starts serving. */
export function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async (parts) => {
    const { logger, metrics, lifecycle } = parts;
    const pool = await openDatabase({ config, migrationsDir: MIGRATIONS_DIR, logger, lifecycle });
    startUpkeep(parts, { service: SERVICE_NAME, pool, config });

    const redis = await openRedis({ url: config.REDIS_URL, logger, lifecycle, name: SERVICE_NAME });

    const messaging = await startMessaging(parts, {
      service: SERVICE_NAME,
      config,
      pool,
      outboxPollIntervalMs: options.outboxPollIntervalMs,
      consume: { consumer: CONSUMER, routingKeys: CONSUMED_EVENTS, handle: eventHandler, retryDelaysMs: options.retryDelaysMs },
    });

    const directory = new Directory({
      db: messaging.db,
      revocations: new RevocationList(redis, config.REDIS_KEY_PREFIX),
      memberPasscode: config.MEMBER_PASSCODE,
      passcodeFailures: new FailureLimit(redis, `${config.REDIS_KEY_PREFIX}fail:passcode:`, PASSCODE_FAILURES, logger),
      membershipRequests: createUserMetrics(metrics.registry).membershipRequests,
      logger,
    });
    const app = createApp({
      logger,
      metrics,
      directory,
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      readiness: { postgres: checks.postgres(pool), redis: checks.redis(redis), rabbitmq: checks.rabbitmq(messaging.connection, messaging) },
    });
    return { app, exposed: { db: messaging.db, redis, amqp: messaging.connection } };
  });
}

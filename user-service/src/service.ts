import path from 'node:path';
import {
  ActivityMarks,
  Counter,
  FailureLimit,
  RevocationList,
  checks,
  openRedis,
  openDatabase,
  startMessaging,
  startService,
  type AmqpConnection,
  type Database,
  type EventServiceStartOptions,
  type Redis,
  type StartedService,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { ActivityRecorder } from './domain/activity';
import { Directory } from './domain/directory';
import { CONSUMED_EVENTS, CONSUMER, eventHandler } from './events/handlers';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
/** Wrong membership passcodes per user: 5 in 15 minutes. */
const PASSCODE_FAILURES = { max: 5, windowMs: 900_000 };

export type StartOptions = EventServiceStartOptions;

export interface RunningService extends StartedService {
  db: Database;
  redis: Redis;
  amqp: AmqpConnection;
  /** Runs the activity write now (the schedule does it every ACTIVITY_FLUSH_INTERVAL_MS). */
  activity: ActivityRecorder;
}

/** Wires user-service to its real dependencies and starts serving. */
export function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async (parts) => {
    const { logger, metrics, lifecycle } = parts;
    const pool = await openDatabase({ config, migrationsDir: MIGRATIONS_DIR, logger, lifecycle });

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
      membershipRequests: new Counter({
        name: 'membership_requests_total',
        help: 'POST /api/users/me/membership by outcome (granted, unchanged, wrong_passcode)',
        labelNames: ['outcome'] as const,
        registers: [metrics.registry],
      }),
      logger,
    });
    const activity = new ActivityRecorder({
      marks: new ActivityMarks(redis, config.REDIS_KEY_PREFIX),
      db: messaging.db,
      batchSize: config.ACTIVITY_BATCH_SIZE,
      writes: new Counter({
        name: 'users_activity_writes_total',
        help: 'Profiles whose lastActiveAt was written from the activity marks (at most one per user a minute)',
        registers: [metrics.registry],
      }),
      logger,
    });
    const activityTimer = setInterval(() => {
      activity.flush().catch((error: unknown) => logger.warn({ err: error }, 'could not write activity marks; trying again at the next run'));
    }, config.ACTIVITY_FLUSH_INTERVAL_MS).unref();
    lifecycle.onStop('activity', async () => {
      clearInterval(activityTimer);
      await activity.flush().catch(() => undefined);
    });

    const app = createApp({
      logger,
      metrics,
      directory,
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      readiness: { postgres: checks.postgres(pool), redis: checks.redis(redis), rabbitmq: checks.rabbitmq(messaging.connection, messaging) },
    });
    return { app, exposed: { db: messaging.db, redis, amqp: messaging.connection, activity } };
  });
}

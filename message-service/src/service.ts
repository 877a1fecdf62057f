import path from 'node:path';
import {
  checks,
  openDatabase,
  startMessaging,
  startService,
  startUpkeep,
  type AmqpConnection,
  type Database,
  type EventServiceStartOptions,
  type StartedService,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { MessageBoard } from './domain/board';
import { Bookmarks } from './domain/bookmarks';
import { CONSUMED_EVENTS, CONSUMER, eventHandler } from './events/handlers';
import { createMessageMetrics } from './metrics';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');

export type StartOptions = EventServiceStartOptions;

export interface RunningService extends StartedService {
  db: Database;
  amqp: AmqpConnection;
}

/** Wires message-service to its real dependencies and starts serving. */
export function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async (parts) => {
    const { logger, metrics, lifecycle } = parts;
    const pool = await openDatabase({ config, migrationsDir: MIGRATIONS_DIR, logger, lifecycle });
    startUpkeep(parts, { service: SERVICE_NAME, pool, config });

    const messaging = await startMessaging(parts, {
      service: SERVICE_NAME,
      config,
      pool,
      outboxPollIntervalMs: options.outboxPollIntervalMs,
      consume: { consumer: CONSUMER, routingKeys: CONSUMED_EVENTS, handle: eventHandler, retryDelaysMs: options.retryDelaysMs },
    });

    const board = new MessageBoard({ db: messaging.db, messagesPosted: createMessageMetrics(metrics.registry).messagesPosted });
    const app = createApp({
      logger,
      metrics,
      board,
      bookmarks: new Bookmarks(messaging.db),
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      readiness: { postgres: checks.postgres(pool), rabbitmq: checks.rabbitmq(messaging.connection, messaging) },
    });
    return { app, exposed: { db: messaging.db, amqp: messaging.connection } };
  });
}

import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Counter,
  EventConsumer,
  Lifecycle,
  checks,
  closeServer,
  createLogger,
  createMessaging,
  createMetrics,
  listen,
  openDatabase,
  queueName,
  topologyFrom,
  type AmqpConnection,
  type Database,
  type Logger,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { MessageBoard } from './domain/board';
import { CONSUMED_EVENTS, CONSUMER_NAME, handleUserEvent } from './events/user-events';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');

export interface StartOptions {
  /** Replaces the logger built from LOG_LEVEL (tests capture or silence it). */
  logger?: Logger;
  /** Delays between attempts at a failing event before it is dead-lettered. */
  retryDelaysMs?: readonly number[];
  outboxPollIntervalMs?: number;
}

export interface RunningService {
  url: string;
  server: Server;
  lifecycle: Lifecycle;
  db: Database;
  amqp: AmqpConnection;
  /** Stops everything that start() started: HTTP first, the database pool last. */
  stop: () => Promise<void>;
}

/** Wires message-service to its real dependencies and starts serving. */
export async function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
  const metrics = createMetrics(SERVICE_NAME);
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  try {
    const pool = await openDatabase({ config, migrationsDir: MIGRATIONS_DIR, logger, lifecycle });

    const topology = topologyFrom(config);
    const messaging = createMessaging({
      service: SERVICE_NAME,
      amqpUrl: config.AMQP_URL,
      topology,
      pool,
      logger,
      registry: metrics.registry,
      lifecycle,
      outboxPollIntervalMs: options.outboxPollIntervalMs,
    });
    const consumer = new EventConsumer({
      connection: messaging.connection,
      topology,
      queue: queueName(topology, CONSUMER_NAME),
      routingKeys: CONSUMED_EVENTS,
      handle: handleUserEvent(messaging.db),
      logger,
      registry: metrics.registry,
      retryDelaysMs: options.retryDelaysMs,
    });
    await consumer.start();
    lifecycle.onStop('consumer', () => consumer.stop());
    messaging.relay.start();
    messaging.connection.start();

    const board = new MessageBoard({
      db: messaging.db,
      messagesPosted: new Counter({
        name: 'messages_posted_total',
        help: 'Messages posted (POST /api/messages that committed)',
        registers: [metrics.registry],
      }),
    });
    const app = createApp({
      logger,
      metrics,
      board,
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      readiness: { postgres: checks.postgres(pool), rabbitmq: checks.rabbitmq(messaging.connection) },
    });
    const server = await listen(app, config.PORT);
    lifecycle.onStop('http', () => closeServer(server));

    const { port } = server.address() as AddressInfo;
    logger.info({ port }, 'message-service listening');
    return {
      url: `http://127.0.0.1:${port}`,
      server,
      lifecycle,
      db: messaging.db,
      amqp: messaging.connection,
      stop: () => lifecycle.shutdown(),
    };
  } catch (error) {
    await lifecycle.shutdown().catch(() => undefined);
    throw error;
  }
}

import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Counter,
  EventConsumer,
  Lifecycle,
  RevocationList,
  checks,
  closeRedis,
  closeServer,
  createLogger,
  createMessaging,
  createMetrics,
  createRedis,
  listen,
  openDatabase,
  queueName,
  topologyFrom,
  type AmqpConnection,
  type Database,
  type Logger,
  type Redis,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { Directory } from './domain/directory';
import { CONSUMED_EVENTS, CONSUMER_NAME, handleUserEvent } from './events/user-registered';

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
  redis: Redis;
  amqp: AmqpConnection;
  /** Stops everything that start() started: HTTP first, the database pool last. */
  stop: () => Promise<void>;
}

/** Wires user-service to its real dependencies and starts serving. */
export async function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
  const metrics = createMetrics(SERVICE_NAME);
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  try {
    const pool = await openDatabase({ config, migrationsDir: MIGRATIONS_DIR, logger, lifecycle });

    const redis = createRedis(config.REDIS_URL, logger, SERVICE_NAME);
    lifecycle.onStop('redis', () => closeRedis(redis));

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

    const directory = new Directory({
      db: messaging.db,
      revocations: new RevocationList(redis, config.REDIS_KEY_PREFIX),
      memberPasscode: config.MEMBER_PASSCODE,
      membershipRequests: new Counter({
        name: 'membership_requests_total',
        help: 'POST /api/users/me/membership by outcome (granted, unchanged, wrong_passcode)',
        labelNames: ['outcome'] as const,
        registers: [metrics.registry],
      }),
      logger,
    });
    const app = createApp({
      logger,
      metrics,
      directory,
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      readiness: { postgres: checks.postgres(pool), redis: checks.redis(redis), rabbitmq: checks.rabbitmq(messaging.connection) },
    });
    const server = await listen(app, config.PORT);
    lifecycle.onStop('http', () => closeServer(server));

    const { port } = server.address() as AddressInfo;
    logger.info({ port }, 'user-service listening');
    return {
      url: `http://127.0.0.1:${port}`,
      server,
      lifecycle,
      db: messaging.db,
      redis,
      amqp: messaging.connection,
      stop: () => lifecycle.shutdown(),
    };
  } catch (error) {
    await lifecycle.shutdown().catch(() => undefined);
    throw error;
  }
}

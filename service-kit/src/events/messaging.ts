import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Database } from '../postgres/database';
import type { AnyEvent } from '../contracts/events';
import { AmqpConnection } from './connection';
import { EventConsumer, type HandlerOutcome } from './consumer';
import { OutboxRelay } from './outbox-relay';
import { EventPublisher } from './publisher';
import { queueName, topologyFrom, type Topology } from './topology';
import type { ServiceParts } from '../runtime/service';
import type { Lifecycle } from '../runtime/lifecycle';

export interface MessagingOptions {
  service: string;
  amqpUrl: string;
  amqpPassword?: string;
  topology: Topology;
  pool: pg.Pool;
  logger: Logger;
  registry?: Registry;
  lifecycle?: Lifecycle;
  outboxPollIntervalMs?: number;
}

export interface Messaging {
  connection: AmqpConnection;
  publisher: EventPublisher;
  /** The service's consumer, when it consumes (startMessaging). */
  consumer?: EventConsumer;
  relay: OutboxRelay;
  /** Transactions on this database record events that the relay then publishes. */
  db: Database;
}

/**
 * Wires a producing service to RabbitMQ: a self-healing connection, a confirming publisher, the
 * outbox relay, and a Database whose committed events wake the relay. Nothing here needs the
 * broker to be up: events wait in the outbox until it is.
 */
export function createMessaging(options: MessagingOptions): Messaging {
  const connection = new AmqpConnection({ url: options.amqpUrl, password: options.amqpPassword, logger: options.logger, name: options.service });
  const publisher = new EventPublisher(connection, options.topology, options.logger);
  const relay = new OutboxRelay({
    pool: options.pool,
    publisher,
    logger: options.logger,
    registry: options.registry,
    pollIntervalMs: options.outboxPollIntervalMs,
  });
  const db = new Database(options.pool, options.service, () => relay.nudge());
  options.lifecycle?.onStop('rabbitmq', () => connection.close());
  options.lifecycle?.onStop('outbox-relay', () => relay.stop());
  return { connection, publisher, relay, db };
}

/** The settings of a service's configuration that its messaging reads. */
export interface MessagingConfig {
  AMQP_URL: string;
  AMQP_PASSWORD?: string;
  EVENTS_EXCHANGE: string;
  EVENTS_QUEUE_PREFIX: string;
}

/** A service's consumer of other services' events. */
export interface ConsumeOptions<Handle> {
  /** The consumer's name; its queue is named after it (see queueName). */
  consumer: string;
  routingKeys: readonly string[];
  handle: Handle;
  retryDelaysMs?: readonly number[];
}

type EventHandler = (event: AnyEvent) => Promise<HandlerOutcome | void>;

export interface StartMessagingOptions {
  service: string;
  config: MessagingConfig;
  pool: pg.Pool;
  outboxPollIntervalMs?: number;
  /** `handle` makes the handler, given the Database whose transactions record (and claim) events. */
  consume: ConsumeOptions<(db: Database) => EventHandler>;
}

function consumerOn(connection: AmqpConnection, topology: Topology, { logger, metrics }: ServiceParts, consume: ConsumeOptions<EventHandler>): EventConsumer {
  return new EventConsumer({
    connection,
    topology,
    queue: queueName(topology, consume.consumer),
    routingKeys: consume.routingKeys,
    handle: consume.handle,
    logger,
    registry: metrics.registry,
    retryDelaysMs: consume.retryDelaysMs,
  });
}

/**
 * createMessaging for a service that also consumes events, all of it started: the consumer, the
 * outbox relay and the connection, each registered with the lifecycle (the consumer stops first,
 * then the relay, then the connection).
 */
export async function startMessaging({ logger, metrics, lifecycle }: ServiceParts, options: StartMessagingOptions): Promise<Messaging> {
  const { service, config, pool, consume } = options;
  const topology = topologyFrom(config);
  const messaging = createMessaging({
    service,
    amqpUrl: config.AMQP_URL,
    amqpPassword: config.AMQP_PASSWORD,
    topology,
    pool,
    logger,
    registry: metrics.registry,
    lifecycle,
    outboxPollIntervalMs: options.outboxPollIntervalMs,
  });
  const consumer = consumerOn(messaging.connection, topology, { logger, metrics, lifecycle }, { ...consume, handle: consume.handle(messaging.db) });
  await consumer.start();
  lifecycle.onStop('consumer', () => consumer.stop());
  messaging.relay.start();
  messaging.connection.start();
  return { ...messaging, consumer };
}

export interface EventIntake {
  connection: AmqpConnection;
  consumer: EventConsumer;
  /**
   * Starts consuming. The consumer's stop is registered then, so it stops before whatever the
   * service registered in between (e.g. open streams that the consumer feeds).
   */
  start(): Promise<void>;
}

/**
 * The messaging of a service that consumes and never produces (the realtime-service): the
 * connection and the consumer, with no outbox and no database. The connection is registered to
 * close at once; consuming begins with start().
 */
export function createEventIntake(
  parts: ServiceParts,
  options: { service: string; config: MessagingConfig; consume: ConsumeOptions<EventHandler> },
): EventIntake {
  const { logger, lifecycle } = parts;
  const { service, config, consume } = options;
  const connection = new AmqpConnection({ url: config.AMQP_URL, password: config.AMQP_PASSWORD, logger, name: service });
  lifecycle.onStop('rabbitmq', () => connection.close());
  const consumer = consumerOn(connection, topologyFrom(config), parts, consume);
  return {
    connection,
    consumer,
    start: async () => {
      await consumer.start();
      lifecycle.onStop('consumer', () => consumer.stop());
      connection.start();
    },
  };
}

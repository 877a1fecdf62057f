import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Database } from './database';
import { AmqpConnection } from './events/connection';
import { OutboxRelay } from './events/outbox-relay';
import { EventPublisher } from './events/publisher';
import type { Topology } from './events/topology';
import type { Lifecycle } from './lifecycle';

export interface MessagingOptions {
  service: string;
  amqpUrl: string;
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
  const connection = new AmqpConnection({ url: options.amqpUrl, logger: options.logger, name: options.service });
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

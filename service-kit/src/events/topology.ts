import type { Channel } from 'amqplib';
import { z } from 'zod';
import { CONSUMER_BINDINGS, SINGLE_ACTIVE_CONSUMERS } from '../contracts/bindings';

/**
 * Names on the broker. Production uses the defaults; tests give each run its own exchange and
 * queue prefix so that concurrent runs on one broker never see each other's events.
 */
export interface Topology {
  exchange: string;
  queuePrefix: string;
}

export const eventSettings = {
  EVENTS_EXCHANGE: z.string().min(1).default('domain.events'),
  EVENTS_QUEUE_PREFIX: z.string().default(''),
};

export const topologyFrom = (config: { EVENTS_EXCHANGE: string; EVENTS_QUEUE_PREFIX: string }): Topology => ({
  exchange: config.EVENTS_EXCHANGE,
  queuePrefix: config.EVENTS_QUEUE_PREFIX,
});

export const queueName = (topology: Topology, consumer: string) => `${topology.queuePrefix}${consumer}`;
export const deadLetterQueueName = (queue: string) => `${queue}.dlq`;
/** Where a consumer keeps events of a newer envelope version than it reads, until a newer consumer starts. */
export const parkedQueueName = (queue: string) => `${queue}.parked`;
export const retryQueueName = (queue: string, delayMs: number) => `${queue}.retry.${delayMs}ms`;

export async function assertExchange(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
}

/**
 * A consumer's queues: the main queue bound to its routing keys, one delay queue per retry step
 * (messages wait out the TTL there, then dead-letter back to the main queue), and `<queue>.dlq`
 * where rejected messages end up through the main queue's dead-letter settings.
 */
export async function assertConsumerQueues(
  channel: Channel,
  topology: Topology,
  queue: string,
  routingKeys: readonly string[],
  retryDelaysMs: readonly number[],
): Promise<void> {
  await assertBoardQueues(channel, topology);
  await channel.assertQueue(parkedQueueName(queue), { durable: true });
  for (const delayMs of new Set(retryDelaysMs)) {
    await channel.assertQueue(retryQueueName(queue, delayMs), {
      durable: true,
      arguments: { 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
    });
  }
  await assertBoundQueue(channel, topology, queue, routingKeys, isSingleActive(topology, queue));
}

/**
 * The exchange and every board consumer's queue with its bindings and dead-letter queue, as
 * CONSUMER_BINDINGS lists them. Idempotent; each service runs it on every connection.
 */
export async function assertBoardQueues(channel: Channel, topology: Topology): Promise<void> {
  await assertExchange(channel, topology);
  for (const [consumer, routingKeys] of Object.entries(CONSUMER_BINDINGS)) {
    await assertBoundQueue(channel, topology, queueName(topology, consumer), routingKeys, SINGLE_ACTIVE_CONSUMERS.has(consumer));
  }
}

const isSingleActive = (topology: Topology, queue: string) =>
  [...SINGLE_ACTIVE_CONSUMERS].some((consumer) => queueName(topology, consumer) === queue);

async function assertBoundQueue(channel: Channel, topology: Topology, queue: string, routingKeys: readonly string[], singleActive: boolean): Promise<void> {
  await channel.assertQueue(deadLetterQueueName(queue), { durable: true });
  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueueName(queue),
      ...(singleActive ? { 'x-single-active-consumer': true } : {}),
    },
  });
  for (const key of routingKeys) await channel.bindQueue(queue, topology.exchange, key);
}

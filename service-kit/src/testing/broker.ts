import amqplib from 'amqplib';
import { CONSUMER_BINDINGS } from '../contracts/bindings';
import type { Topology } from '../events/topology';
import { deadLetterQueueName, parkedQueueName, queueName, retryQueueName } from '../events/topology';
import { uniqueSuffix, waitFor } from './wait';

export const TEST_AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** An exchange and queue prefix of this test run's own on the shared broker. */
export function testTopology(): Topology {
  const run = `test.${uniqueSuffix()}`;
  return { exchange: `${run}.domain.events`, queuePrefix: `${run}.` };
}

/**
 * Deletes a test run's exchange and its queues (with their retry and dead-letter queues): those
 * named, and every board consumer's, which each service declares when it connects.
 */
export async function deleteTopology(
  topology: Topology,
  queues: readonly string[] = [],
  retryDelaysMs: readonly number[] = [1_000, 5_000, 30_000],
): Promise<void> {
  const boardQueues = Object.keys(CONSUMER_BINDINGS).map((consumer) => queueName(topology, consumer));
  const connection = await amqplib.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of new Set([...queues, ...boardQueues])) {
      for (const name of [queue, deadLetterQueueName(queue), parkedQueueName(queue), ...retryDelaysMs.map((delay) => retryQueueName(queue, delay))]) {
        await channel.deleteQueue(name);
      }
    }
    await channel.deleteExchange(topology.exchange);
  } finally {
    await connection.close();
  }
}

/** The bodies of up to `max` messages in `queue`, left in place (they are requeued). */
export async function peekQueue(queue: string, max = 100): Promise<string[]> {
  const connection = await amqplib.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const bodies: string[] = [];
    for (let index = 0; index < max; index += 1) {
      const message = await channel.get(queue, { noAck: false });
      if (!message) break;
      bodies.push(message.content.toString('utf8'));
    }
    await channel.close(); // unacked messages go back to the queue
    return bodies;
  } finally {
    await connection.close();
  }
}

/**
 * Waits until the dead-letter queue of `consumer` holds at least `count` messages and returns their
 * bodies, left in place. It polls because nothing announces a dead letter: the broker moves a
 * message there when the consumer rejects it for good.
 */
export function waitForDeadLetters(topology: Topology, consumer: string, count: number): Promise<string[]> {
  const dlq = deadLetterQueueName(queueName(topology, consumer));
  return waitFor(
    async () => {
      const bodies = await peekQueue(dlq);
      return bodies.length >= count ? bodies : undefined;
    },
    { what: `${count} dead letters in ${dlq}` },
  );
}

/** Publishes a raw message on the exchange, as a producer (or a broken one) would. */
export async function publishRaw(topology: Topology, routingKey: string, body: string | object): Promise<void> {
  const connection = await amqplib.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    channel.publish(topology.exchange, routingKey, content, { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

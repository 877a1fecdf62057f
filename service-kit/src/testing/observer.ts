import type { AnyEvent } from '../contracts/events';
import { AmqpConnection } from '../events/connection';
import { EventConsumer } from '../events/consumer';
import type { Topology } from '../events/topology';
import { TEST_AMQP_URL } from './broker';
import { silentLogger } from './logger';

/** What an observer has seen on the exchange, in arrival order. */
export interface ObservedEvents {
  readonly events: AnyEvent[];
  /** The events of `type` whose data.id is `id`. */
  about: (type: AnyEvent['type'], id: string) => AnyEvent[];
}

export interface EventObserver extends ObservedEvents {
  stop: () => Promise<void>;
}

export interface ObserveOptions {
  topology: Topology;
  /** The observer's own queue; the caller deletes it with the topology (deleteTopology). */
  queue: string;
  /** Which events to record; every one by default. */
  routingKeys?: readonly string[];
  /** The delay queues to declare, matching what the caller deletes with the topology. */
  retryDelaysMs?: readonly number[];
}

/**
 * Records what a service publishes, as a consumer of the test's own would receive it: bound to the
 * test topology through a real queue, so a test sees events only once they reached the broker
 * (not merely the outbox). Resolves once connected, so nothing published afterwards is missed.
 */
export async function observeEvents(options: ObserveOptions): Promise<EventObserver> {
  const events: AnyEvent[] = [];
  const logger = silentLogger();
  const connection = new AmqpConnection({ url: TEST_AMQP_URL, logger, name: options.queue });
  const consumer = new EventConsumer({
    connection,
    topology: options.topology,
    queue: options.queue,
    routingKeys: options.routingKeys ?? ['#'],
    logger,
    retryDelaysMs: options.retryDelaysMs,
    handle: async (event) => {
      events.push(event);
    },
  });
  await consumer.start();
  connection.start();
  if (!(await connection.waitForConnection(5_000))) throw new Error('the event observer did not reach RabbitMQ');
  return {
    events,
    about: (type, id) => events.filter((event) => event.type === type && 'id' in event.data && event.data.id === id),
    stop: async () => {
      await consumer.stop();
      await connection.close();
    },
  };
}

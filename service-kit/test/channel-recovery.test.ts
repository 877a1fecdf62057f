import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import type pg from 'pg';
import { createPool } from '../src/postgres/pool';
import { Database } from '../src/postgres/database';
import { AmqpConnection } from '../src/events/connection';
import { EventConsumer } from '../src/events/consumer';
import { createEvent } from '../src/events/envelope';
import { type AnyEvent } from '../src/contracts/events';
import { OutboxRelay } from '../src/events/outbox-relay';
import { EventPublisher } from '../src/events/publisher';
import { checks } from '../src/http/health';
import { queueName, type Topology } from '../src/events/topology';
import { TEST_AMQP_URL, deleteTopology, publishRaw, silentLogger, testTopology, waitFor, type TestWorld } from '../src/testing';
import { createFixtureWorld } from './support/fixture-world';

const logger = silentLogger();
const CONSUMER = 'recovery';
/** The database; each test has a topology of its own, deleted after it. */
let world: TestWorld;
let pool: pg.Pool;
let topology: Topology;
const started: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  world = await createFixtureWorld('kit_channel_recovery', { broker: false });
  pool = createPool({ DATABASE_URL: world.database.url }, logger);
  world.onCleanUp(() => pool.end());
});

beforeEach(() => {
  topology = testTopology();
});

afterEach(async () => {
  for (const resource of started.splice(0).reverse()) await resource.close();
  await pool.query('TRUNCATE outbox');
  await deleteTopology(topology, [queueName(topology, CONSUMER)]);
});

afterAll(() => world.cleanUp());

function connect(): AmqpConnection {
  const connection = new AmqpConnection({ url: TEST_AMQP_URL, logger, name: CONSUMER, reconnectDelayMs: { initial: 50, max: 200 } });
  started.push({ close: () => connection.close() });
  return connection;
}

/** What another client (an operator, a broken deploy) does to the broker behind the service's back. */
async function onTheBroker(work: (channel: amqplib.Channel) => Promise<unknown>): Promise<void> {
  const connection = await amqplib.connect(TEST_AMQP_URL);
  try {
    await work(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

const ready = async (check: () => Promise<unknown>) => check().then(() => true, () => false);

describe('channels the broker closes while the connection stays up', () => {
  it('When the consumer is cancelled (its queue deleted), Then it subscribes again and readiness says so meanwhile', async () => {
    const connection = connect();
    const handled: AnyEvent[] = [];
    const consumer = new EventConsumer({
      connection,
      topology,
      queue: queueName(topology, CONSUMER),
      routingKeys: ['user.*'],
      logger,
      handle: async (event) => {
        handled.push(event);
        return 'handled';
      },
    });
    await consumer.start();
    started.push({ close: () => consumer.stop() });
    connection.start();
    const readiness = checks.rabbitmq(connection, { consumer });
    await waitFor(() => ready(readiness), { what: 'the consumer to be ready' });

    await onTheBroker((channel) => channel.deleteQueue(queueName(topology, CONSUMER)));
    await waitFor(async () => !(await ready(readiness)), { what: 'readiness to notice', timeoutMs: 2_000 }).catch(() => undefined);
    await waitFor(() => ready(readiness), { what: 'the consumer to subscribe again' });

    const event = createEvent('kit-test', 'user.deleted', { id: randomUUID() });
    await publishRaw(topology, event.type, event);
    await waitFor(() => handled.some((seen) => seen.id === event.id), { what: 'an event after the queue came back' });
  });

  it('When the publisher channel is closed by a publish to a deleted exchange, Then a new channel publishes the kept events', async () => {
    const connection = connect();
    const publisher = new EventPublisher(connection, topology, logger, 2_000);
    const relay = new OutboxRelay({ pool, publisher, logger });
    const db = new Database(pool, 'kit-test', () => undefined);
    connection.start();
    const readiness = checks.rabbitmq(connection, { publisher });
    await waitFor(() => ready(readiness), { what: 'the publisher to be ready' });

    await onTheBroker((channel) => channel.deleteExchange(topology.exchange));
    await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    await expect(relay.publishPending()).rejects.toThrow();

    await waitFor(async () => (await ready(readiness)) && (await relay.publishPending().catch(() => 0)) === 1, {
      what: 'the event published on a new channel',
    });
    expect((await pool.query('SELECT count(*) FROM outbox WHERE published_at IS NULL')).rows[0].count).toBe('0');
  });
});

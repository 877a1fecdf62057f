import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import type pg from 'pg';
import { createPool } from '../src/postgres/pool';
import { Database } from '../src/postgres/database';
import { CONSUMER_BINDINGS } from '../src/contracts/bindings';
import { AmqpConnection } from '../src/events/connection';
import { EventConsumer } from '../src/events/consumer';
import { OutboxRelay } from '../src/events/outbox-relay';
import { EventPublisher, PublisherUnavailableError, UnroutableEventError } from '../src/events/publisher';
import { queueName, type Topology } from '../src/events/topology';
import {
  TEST_AMQP_URL,
  TcpProxy,
  deleteTopology,
  observeEvents,
  peekQueue,
  silentLogger,
  testTopology,
  waitFor,
  type TestWorld,
} from '../src/testing';
import { createFixtureWorld } from './support/fixture-world';

const logger = silentLogger();
/** The database; each test has a topology of its own, deleted after it. */
let world: TestWorld;
let pool: pg.Pool;
let topology: Topology;
let proxy: TcpProxy;
const started: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  world = await createFixtureWorld('kit_topology', { broker: false });
  pool = createPool({ DATABASE_URL: world.database.url }, logger);
  world.onCleanUp(() => pool.end());
  proxy = await world.proxy(TEST_AMQP_URL);
});

beforeEach(() => {
  topology = testTopology();
});

afterEach(async () => {
  proxy.thaw();
  for (const resource of started.splice(0).reverse()) await resource.close();
  await pool.query('TRUNCATE outbox, processed_events, effects');
  await deleteTopology(topology);
});

afterAll(() => world.cleanUp());

async function connectedPublisher(options: { throughProxy?: boolean; confirmTimeoutMs?: number } = {}) {
  const connection = new AmqpConnection({
    url: options.throughProxy ? proxy.urlFor(TEST_AMQP_URL) : TEST_AMQP_URL,
    logger,
    name: 'topology-test',
    reconnectDelayMs: { initial: 50, max: 200 },
  });
  started.push({ close: () => connection.close() });
  const publisher = new EventPublisher(connection, topology, logger, options.confirmTimeoutMs ?? 2_000);
  connection.start();
  await connection.waitForConnection(5_000);
  await waitFor(() => publisher.isReady, { what: 'the publisher channel' });
  const relay = new OutboxRelay({ pool, publisher, logger });
  return { publisher, relay, db: new Database(pool, 'kit-test', () => undefined) };
}

const pending = async () => Number((await pool.query('SELECT count(*) FROM outbox WHERE published_at IS NULL')).rows[0].count);

async function deleteQueues(names: readonly string[]): Promise<void> {
  const connection = await amqplib.connect(TEST_AMQP_URL);
  const channel = await connection.createChannel();
  for (const name of names) await channel.deleteQueue(name);
  await connection.close();
}

describe('the board topology', () => {
  it('When an event is published before its consumer ever ran, Then the consumer gets it when it starts', async () => {
    const { relay, db } = await connectedPublisher();
    const event = await db.transaction((tx) => tx.recordEvent('user.registered', {
      id: randomUUID(), email: 'first@example.com', username: 'first_admin', displayName: 'First', role: 'admin',
    }));
    expect(await relay.publishPending()).toBe(1);
    expect(await pending()).toBe(0);

    const handled: string[] = [];
    const connection = new AmqpConnection({ url: TEST_AMQP_URL, logger, name: 'late-consumer' });
    started.push({ close: () => connection.close() });
    const consumer = new EventConsumer({
      connection,
      topology,
      queue: queueName(topology, 'user-service'),
      routingKeys: CONSUMER_BINDINGS['user-service'],
      logger,
      handle: async (received) => {
        handled.push(received.id);
        return 'handled';
      },
    });
    await consumer.start();
    started.push({ close: () => consumer.stop() });
    connection.start();
    await waitFor(() => handled.includes(event.id), { what: 'the event published before the consumer existed' });
  });

  it('When no queue takes an event, Then it stays in the outbox, and goes out once the queues are declared again', async () => {
    const { publisher, relay, db } = await connectedPublisher();
    const takers = Object.entries(CONSUMER_BINDINGS)
      .filter(([, keys]) => keys.some((key: string) => key === 'user.updated' || key === 'user.*'))
      .map(([consumer]) => queueName(topology, consumer));
    await deleteQueues(takers);

    await db.transaction((tx) => tx.recordEvent('user.updated', { id: randomUUID(), username: 'nobody_listens', displayName: 'Nobody' }));
    await expect(relay.publishPending()).rejects.toThrow(UnroutableEventError);
    expect(await pending()).toBe(1);

    // The return made the publisher declare the board's queues before its next publish.
    expect(await relay.publishPending()).toBe(1);
    expect(await pending()).toBe(0);
    for (const queue of takers) expect((await peekQueue(queue)).some((body) => body.includes('nobody_listens'))).toBe(true);
    expect(publisher.isReady).toBe(true);
  });

  it('When the broker takes a publish but never confirms it, Then the batch fails and every row stays unpublished', async () => {
    const { relay, db } = await connectedPublisher({ throughProxy: true, confirmTimeoutMs: 300 });
    for (let index = 0; index < 3; index += 1) await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    proxy.freeze();
    await expect(relay.publishPending()).rejects.toThrow(PublisherUnavailableError);
    expect(await pending()).toBe(3);
  });

  it('When two relay replicas share an outbox, Then the broker gets the events in outbox order', async () => {
    const replicas = [await connectedPublisher(), await connectedPublisher()];
    const observer = await observeEvents({ topology, queue: queueName(topology, 'order-observer') });
    started.push({ close: () => observer.stop() });
    started.push({ close: () => deleteTopology(topology, [queueName(topology, 'order-observer')]) });
    const relays = replicas.map(({ publisher }) => new OutboxRelay({ pool, publisher, logger, pollIntervalMs: 20, batchSize: 10 }));
    const db = new Database(pool, 'kit-test', () => relays.forEach((relay) => relay.nudge()));
    for (const relay of relays) {
      relay.start();
      started.push({ close: () => relay.stop() });
    }
    const recorded: string[] = [];
    for (let index = 0; index < 300; index += 1) {
      recorded.push((await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }))).id);
    }
    await waitFor(() => observer.events.length >= recorded.length, { what: 'every event at the observer', timeoutMs: 20_000 });
    expect(observer.events.map((event) => event.id)).toEqual(recorded);
  });
});

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { createPool } from '../src/postgres/pool';
import { Database } from '../src/postgres/database';
import { AmqpConnection } from '../src/events/connection';
import { EventConsumer } from '../src/events/consumer';
import { EventPublisher } from '../src/events/publisher';
import { OutboxRelay } from '../src/events/outbox-relay';
import { createEvent } from '../src/events/envelope';
import { type AnyEvent } from '../src/contracts/events';
import { deadLetterQueueName, queueName, type Topology } from '../src/events/topology';
import {
  TEST_AMQP_URL,
  TcpProxy,
  deleteTopology,
  peekQueue,
  publishRaw,
  silentLogger,
  testTopology,
  waitFor,
  type TestDatabase,
} from '../src/testing';
import { createFixtureDatabase } from './support/fixture-database';

const logger = silentLogger();
const RETRY_DELAYS = [50, 100];

let database: TestDatabase;
let pool: pg.Pool;
let topology: Topology;
let proxy: TcpProxy;
const started: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  database = await createFixtureDatabase('kit_events');
  pool = createPool({ DATABASE_URL: database.url }, logger);
  topology = testTopology();
  const broker = new URL(TEST_AMQP_URL);
  proxy = await TcpProxy.create({ host: broker.hostname, port: Number(broker.port || 5672) });
});

afterEach(async () => {
  for (const resource of started.splice(0).reverse()) await resource.close();
  await pool.query('TRUNCATE outbox, processed_events, effects');
});

afterAll(async () => {
  await proxy.stop();
  await pool.end();
  await deleteTopology(topology, [queueName(topology, 'listener'), queueName(topology, 'flaky')], RETRY_DELAYS);
  await database.drop();
});

/** A connection through the proxy, so a test can take the broker away. */
function connect(name: string): AmqpConnection {
  const connection = new AmqpConnection({
    url: proxy.urlFor(TEST_AMQP_URL),
    logger,
    name,
    reconnectDelayMs: { initial: 50, max: 200 },
  });
  started.push({ close: () => connection.close() });
  return connection;
}

function startProducer(registry?: Registry) {
  const connection = connect('producer');
  const publisher = new EventPublisher(connection, topology, logger, 2_000);
  const relay = new OutboxRelay({ pool, publisher, logger, registry, pollIntervalMs: 50 });
  const db = new Database(pool, 'kit-test', () => relay.nudge());
  relay.start();
  started.push({ close: () => relay.stop() });
  connection.start();
  return { connection, relay, db };
}

/** A consumer that records each effect in PostgreSQL inside the idempotent transaction. */
async function startConsumer(consumerName: string, db: Database, behaviour: (event: AnyEvent) => void = () => undefined) {
  const connection = connect(consumerName);
  const consumer = new EventConsumer({
    connection,
    topology,
    queue: queueName(topology, consumerName),
    routingKeys: ['user.*'],
    logger,
    retryDelaysMs: RETRY_DELAYS,
    maxAttempts: 3,
    handle: (event) =>
      db.transaction(async (tx) => {
        if (!(await tx.claimEvent(consumerName, event.id))) return 'duplicate';
        behaviour(event);
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [event.id, event.type]);
        return 'handled';
      }),
  });
  await consumer.start();
  started.push({ close: () => consumer.stop() });
  connection.start();
  await connection.waitForConnection(5_000);
  return consumer;
}

const effectsOf = async (eventId: string) =>
  (await pool.query('SELECT note FROM effects WHERE event_id = $1', [eventId])).rows.map((row) => row.note as string);

/** The outbox relay's gauges as a scrape reads them. */
async function gauges(registry: Registry): Promise<Record<string, number>> {
  const read = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value;
  return {
    outbox_pending_events: await read('outbox_pending_events'),
    outbox_oldest_pending_age_seconds: await read('outbox_oldest_pending_age_seconds'),
  };
}

const pendingCount = async () =>
  Number((await pool.query('SELECT count(*) FROM outbox WHERE published_at IS NULL')).rows[0].count);

describe('transactional outbox and consumers', () => {
  beforeEach(() => proxy.start());

  it('publishes committed events and never rolled-back ones', async () => {
    const { db } = startProducer();
    await startConsumer('listener', db);
    const committed = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    const rolledBack = createEvent('x', 'user.deleted', { id: randomUUID() });
    await expect(
      db.transaction(async (tx) => {
        await tx.recordEvent('user.deleted', rolledBack.data);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await waitFor(async () => (await effectsOf(committed.id)).length === 1, { what: 'the committed event' });
    expect(await pendingCount()).toBe(0);
    expect((await pool.query('SELECT count(*) FROM outbox')).rows[0].count).toBe('1');
  });

  it('keeps events while the broker is unreachable and publishes them once it is back', async () => {
    await proxy.stop();
    const registry = new Registry();
    const { db } = startProducer(registry);
    const event = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await pendingCount()).toBe(1);
    const waiting = await gauges(registry);
    expect(waiting.outbox_pending_events).toBe(1);
    expect(waiting.outbox_oldest_pending_age_seconds).toBeGreaterThanOrEqual(0.3);

    await proxy.start();
    await startConsumer('listener', db);
    await waitFor(async () => (await effectsOf(event.id)).length === 1, { what: 'the event after the broker came back' });
    expect(await pendingCount()).toBe(0);
    expect(await gauges(registry)).toEqual({ outbox_pending_events: 0, outbox_oldest_pending_age_seconds: 0 });
  });

  it('reconnects publisher and consumer when the broker goes away and comes back', async () => {
    const { db, connection } = startProducer();
    await startConsumer('listener', db);
    await connection.waitForConnection(5_000);
    await proxy.stop();
    await waitFor(() => !connection.isConnected, { what: 'the disconnect' });
    const event = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    await proxy.start();
    await waitFor(async () => (await effectsOf(event.id)).length === 1, { what: 'the event after reconnecting' });
  });

  it('handles a redelivered event once', async () => {
    const { db } = startProducer();
    await startConsumer('listener', db);
    const event = createEvent('kit-test', 'user.deleted', { id: randomUUID() });
    await publishRaw(topology, event.type, event);
    await publishRaw(topology, event.type, event);
    const marker = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    await waitFor(async () => (await effectsOf(marker.id)).length === 1, { what: 'the marker event' });
    expect(await effectsOf(event.id)).toEqual(['user.deleted']);
  });

  it('retries a failing event with backoff until it succeeds', async () => {
    const { db } = startProducer();
    let failuresLeft = 2;
    await startConsumer('flaky', db, () => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('transient failure');
      }
    });
    const event = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));
    await waitFor(async () => (await effectsOf(event.id)).length === 1, { what: 'the retried event' });
    expect(failuresLeft).toBe(0);
  });

  it('dead-letters poison and always-failing events without blocking the queue', async () => {
    const { db } = startProducer();
    const doomed = randomUUID();
    await startConsumer('flaky', db, (event) => {
      if (event.type === 'user.deleted' && event.data.id === doomed) throw new Error('never works');
    });
    await publishRaw(topology, 'user.deleted', '{this is not json');
    const failing = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: doomed }));
    const healthy = await db.transaction((tx) => tx.recordEvent('user.deleted', { id: randomUUID() }));

    await waitFor(async () => (await effectsOf(healthy.id)).length === 1, { what: 'the healthy event' });
    const dlq = deadLetterQueueName(queueName(topology, 'flaky'));
    const deadLetters = await waitFor(async () => {
      const messages = await peekQueue(dlq);
      return messages.length === 2 ? messages : undefined;
    }, { what: 'two dead letters' });
    expect(deadLetters).toContain('{this is not json');
    expect(deadLetters.some((body) => body.includes(failing.id))).toBe(true);
    expect(await effectsOf(failing.id)).toEqual([]);
  });
});

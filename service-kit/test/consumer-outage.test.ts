import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { createPool } from '../src/postgres/pool';
import { Database } from '../src/postgres/database';
import { AmqpConnection } from '../src/events/connection';
import { EventConsumer } from '../src/events/consumer';
import { createEvent } from '../src/events/envelope';
import { isDependencyFailure } from '../src/events/dependency-failure';
import { deadLetterQueueName, queueName, type Topology } from '../src/events/topology';
import { TEST_AMQP_URL, TcpProxy, peekQueue, publishRaw, silentLogger, waitFor, type TestWorld } from '../src/testing';
import { createFixtureWorld } from './support/fixture-world';

const logger = silentLogger();
const RETRY_DELAYS = [20, 40];
const CONSUMER = 'outage';

let world: TestWorld;
/** The test's own view of the database, never cut. */
let pool: pg.Pool;
/** The consumer's pool, through a proxy that the test takes away. */
let consumerPool: pg.Pool;
let proxy: TcpProxy;
let topology: Topology;
let connection: AmqpConnection;
let consumer: EventConsumer;
const registry = new Registry();

beforeAll(async () => {
  world = await createFixtureWorld('kit_consumer_outage', { retryDelaysMs: RETRY_DELAYS });
  pool = createPool({ DATABASE_URL: world.database.url }, logger);
  world.onCleanUp(() => pool.end());
  proxy = await world.proxy(world.database.url);
  consumerPool = createPool({ DATABASE_URL: proxy.urlFor(world.database.url) }, logger);
  world.onCleanUp(() => consumerPool.end());
  topology = world.topology;
  connection = new AmqpConnection({ url: TEST_AMQP_URL, logger, name: CONSUMER, reconnectDelayMs: { initial: 50, max: 200 } });
  const db = new Database(consumerPool, 'kit-test', () => undefined);
  consumer = new EventConsumer({
    connection,
    topology,
    queue: world.ownQueue(CONSUMER),
    routingKeys: ['user.*'],
    logger,
    registry,
    retryDelaysMs: RETRY_DELAYS,
    maxAttempts: 3,
    dependencyBackoffMs: { initial: 20, max: 100 },
    handle: (event) =>
      db.transaction(async (tx) => {
        if (!(await tx.claimEvent(CONSUMER, event.id))) return 'duplicate';
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [event.id, event.type]);
        return 'handled';
      }),
  });
  world.onCleanUp(async () => {
    await consumer.stop();
    await connection.close();
  });
  await consumer.start();
  connection.start();
  await connection.waitForConnection(5_000);
});

afterAll(() => world.cleanUp());

const handledInOrder = async () => (await pool.query('SELECT event_id FROM effects ORDER BY seq')).rows.map((row) => row.event_id as string);
const waitingGauge = async () => (await registry.getSingleMetric('events_consumer_waiting_for_dependency')!.get()).values[0]?.value;

describe('a consumer during an outage of its database', () => {
  it('When PostgreSQL is unreachable for longer than every retry attempt, Then no event is dead-lettered and all are handled once, in order, after', async () => {
    await proxy.stop();
    const events = Array.from({ length: 3 }, () => createEvent('kit-test', 'user.deleted', { id: randomUUID() }));
    for (const event of events) await publishRaw(topology, event.type, event);

    // Far longer than three attempts with 20-40 ms between them would last.
    await waitFor(async () => (await waitingGauge()) === 1, { what: 'the consumer to hold the event' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await handledInOrder()).toEqual([]);
    expect(await peekQueue(deadLetterQueueName(queueName(topology, CONSUMER)))).toEqual([]);

    await proxy.start();
    await waitFor(async () => (await handledInOrder()).length === 3, { what: 'the held events after the outage' });
    expect(await handledInOrder()).toEqual(events.map((event) => event.id));
    expect(await waitingGauge()).toBe(0);
    expect(await peekQueue(deadLetterQueueName(queueName(topology, CONSUMER)))).toEqual([]);
  });

  it('When it stops while holding an event, Then it leaves it on the queue for the next consumer', async () => {
    await proxy.stop();
    const event = createEvent('kit-test', 'user.deleted', { id: randomUUID() });
    await publishRaw(topology, event.type, event);
    await waitFor(async () => (await waitingGauge()) === 1, { what: 'the consumer to hold the event' });
    const stopped = Date.now();
    await consumer.stop();
    expect(Date.now() - stopped).toBeLessThan(2_000);
    await proxy.start();
    await waitFor(async () => (await peekQueue(queueName(topology, CONSUMER))).some((body) => body.includes(event.id)), {
      what: 'the event back on the queue',
    });
  });
});

describe('isDependencyFailure', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a connection exception SQLSTATE', withCode('08006')],
    ['a server shutting down', withCode('57P01')],
    ['a serialization failure', withCode('40001')],
    ['pg losing its connection', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['ioredis giving up on a command', Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' })],
    ['ioredis while disconnected', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a wrapped network error', new Error('could not revoke', { cause: withCode('ETIMEDOUT') })],
    ['parallel connection attempts', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')])],
  ])('counts %s as a dependency failure', (_name, error) => {
    expect(isDependencyFailure(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a check violation', withCode('23514')],
    ['not an error at all', 'ECONNREFUSED'],
  ])('counts %s as the event failing on its own', (_name, error) => {
    expect(isDependencyFailure(error)).toBe(false);
  });
});

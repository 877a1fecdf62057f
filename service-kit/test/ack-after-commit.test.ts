import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool } from '../src/postgres/pool';
import { Database } from '../src/postgres/database';
import { AmqpConnection } from '../src/events/connection';
import { EventConsumer, type HandlerOutcome } from '../src/events/consumer';
import { createEvent } from '../src/events/envelope';
import { type AnyEvent } from '../src/contracts/events';
import { type Topology } from '../src/events/topology';
import { TEST_AMQP_URL, publishRaw, silentLogger, waitFor, type TestWorld } from '../src/testing';
import { createFixtureWorld } from './support/fixture-world';

/*
 * A consumer acknowledges an event only after the handler's transaction committed. If it dies in
 * between (here its broker connection is cut through a proxy), the broker hands the event to the
 * next consumer, whose claim finds it handled: nothing is lost, and nothing is applied twice.
 */
const logger = silentLogger();
const CONSUMER = 'ack-after-commit';
const RETRY_DELAYS = [50];

let world: TestWorld;
let pool: pg.Pool;
let db: Database;
let topology: Topology;
let queue: string;

beforeAll(async () => {
  world = await createFixtureWorld('kit_ack_after_commit', { retryDelaysMs: RETRY_DELAYS });
  pool = createPool({ DATABASE_URL: world.database.url }, logger);
  world.onCleanUp(() => pool.end());
  db = new Database(pool, 'kit-test');
  topology = world.topology;
  queue = world.ownQueue(CONSUMER);
});

afterAll(() => world.cleanUp());

/** What one consumer saw: each event it was handed, with what its claim made of it. */
interface Seen {
  event: AnyEvent;
  outcome: HandlerOutcome;
}

/** A consumer of the test queue that applies each event once (claim + effect row in one transaction). */
async function startConsumer(url: string, afterCommit: () => Promise<void> = async () => undefined) {
  const seen: Seen[] = [];
  const connection = new AmqpConnection({ url, logger, name: CONSUMER, reconnectDelayMs: { initial: 50, max: 200 } });
  const consumer = new EventConsumer({
    connection,
    topology,
    queue,
    routingKeys: ['user.*'],
    logger,
    retryDelaysMs: RETRY_DELAYS,
    handle: async (event) => {
      const outcome = await db.transaction(async (tx): Promise<HandlerOutcome> => {
        if (!(await tx.claimEvent(CONSUMER, event.id))) return 'duplicate';
        await tx.query('INSERT INTO effects (event_id, note) VALUES ($1, $2)', [event.id, event.type]);
        return 'handled';
      });
      seen.push({ event, outcome });
      await afterCommit();
      return outcome;
    },
  });
  await consumer.start();
  connection.start();
  if (!(await connection.waitForConnection(5_000))) throw new Error('the consumer did not reach RabbitMQ');
  return {
    seen,
    stop: async () => {
      await consumer.stop();
      await connection.close();
    },
  };
}

const effectsOf = async (eventId: string) =>
  Number((await pool.query('SELECT count(*) AS n FROM effects WHERE event_id = $1', [eventId])).rows[0].n);

describe('a consumer that dies after its handler committed, before the ack', () => {
  it('leaves the event to be redelivered, and the redelivery changes nothing', async () => {
    const proxy = await world.proxy(TEST_AMQP_URL);
    let committed!: () => void;
    const hasCommitted = new Promise<void>((resolve) => (committed = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = await startConsumer(proxy.urlFor(TEST_AMQP_URL), async () => {
      committed();
      await released;
    });
    let second: Awaited<ReturnType<typeof startConsumer>> | undefined;
    try {
      const event = createEvent('kit-test', 'user.deleted', { id: randomUUID() });
      await publishRaw(topology, event.type, event);
      await hasCommitted;
      expect(await effectsOf(event.id)).toBe(1);

      await proxy.stop(); // the consumer's connection dies with the ack not yet sent
      release();
      second = await startConsumer(TEST_AMQP_URL);
      const redelivered = await waitFor(() => second!.seen.find((seen) => seen.event.id === event.id), {
        what: 'the redelivery to the second consumer',
        timeoutMs: 5_000,
      });

      expect(redelivered.outcome).toBe('duplicate');
      expect(first.seen.map((seen) => seen.outcome)).toEqual(['handled']);
      expect(await effectsOf(event.id)).toBe(1);
    } finally {
      release();
      await second?.stop();
      await first.stop();
      await proxy.stop();
    }
  });
});

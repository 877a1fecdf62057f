import { randomUUID } from 'node:crypto';
import { parseConfig, queueName, type Topology } from '@board/service-kit';
import { identityHeaders, type EventEnvelope, type Role } from '@board/service-kit/contracts';
import {
  TEST_AMQP_URL,
  createTestDatabase,
  deleteTopology,
  observeEvents,
  publishRaw,
  testTopology,
  uniqueSuffix,
  waitFor,
  type ObservedEvents,
} from '@board/service-kit/testing';
import { configShape } from '../src/config';
import { insertAuthor } from '../src/data/authors';
import { start, type RunningService } from '../src/service';

export const RETRY_DELAYS = [50, 100];
const OBSERVER = 'test-observer';

export interface TestUser {
  id: string;
  role: Role;
  username: string;
  displayName: string;
}

export interface TestContext {
  service: RunningService;
  topology: Topology;
  /** Every event on the test exchange, recorded from a queue of the test's own. */
  eventLog: ObservedEvents;
  /** A user whose names message-service already knows (as if user.registered had arrived). */
  seedUser: (role: Role) => Promise<TestUser>;
  /** Identity headers as the gateway would send them for `user`. */
  as: (user: { id: string; role: Role }) => Record<string, string>;
  /** Runs `act` and checks that nothing a request could change (any table, the outbox) changed. */
  expectNothingChanged: (act: () => Promise<unknown>) => Promise<void>;
  /** Publishes `event` as its producer would and waits until message-service has handled it. */
  deliver: (event: EventEnvelope) => Promise<void>;
  stop: () => Promise<void>;
}

/** Everything a request could change: messages, authors, channels, likes, bookmarks and the outbox. */
async function snapshot(service: RunningService) {
  const rows = async (sql: string) => (await service.db.query(sql)).rows;
  return {
    messages: await rows('SELECT * FROM messages ORDER BY id'),
    authors: await rows('SELECT * FROM authors ORDER BY id'),
    channels: await rows('SELECT * FROM channels ORDER BY name'),
    likes: await rows('SELECT * FROM likes ORDER BY message_id, user_id'),
    bookmarks: await rows('SELECT * FROM bookmarks ORDER BY user_id, message_id'),
    outbox: await rows('SELECT id FROM outbox ORDER BY seq'),
  };
}

/** Starts message-service on its own database, exchange and queues, plus an event observer. */
export async function startTestService(label: string): Promise<TestContext> {
  const database = await createTestDatabase(label);
  const topology = testTopology();
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    DATABASE_URL: database.url,
    AMQP_URL: TEST_AMQP_URL,
    EVENTS_EXCHANGE: topology.exchange,
    EVENTS_QUEUE_PREFIX: topology.queuePrefix,
  };
  const service = await start(parseConfig(configShape, env), { retryDelaysMs: RETRY_DELAYS, outboxPollIntervalMs: 50 });
  const observerQueue = queueName(topology, OBSERVER);
  const observer = await observeEvents({ topology, queue: observerQueue, retryDelaysMs: RETRY_DELAYS });
  if (!(await service.amqp.waitForConnection(5_000))) throw new Error('message-service did not reach RabbitMQ');

  const seedUser = async (role: Role): Promise<TestUser> => {
    const suffix = uniqueSuffix();
    const user = { id: randomUUID(), role, username: `user_${suffix}`, displayName: `User ${suffix}` };
    await insertAuthor(service.db, { ...user, asOf: new Date().toISOString(), version: 1 });
    return user;
  };

  return {
    service,
    topology,
    eventLog: observer,
    seedUser,
    as: ({ id, role }) => identityHeaders({ userId: id, role, sessionId: randomUUID() }),
    deliver: async (event) => {
      await publishRaw(topology, event.type, event);
      await waitFor(
        async () => (await service.db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [event.id])).rowCount === 1,
        { what: `${event.type} ${event.id} to be handled` },
      );
    },
    expectNothingChanged: async (act) => {
      const before = await snapshot(service);
      await act();
      expect(await snapshot(service)).toEqual(before);
    },
    stop: async () => {
      await observer.stop();
      await service.stop();
      await deleteTopology(topology, [queueName(topology, 'message-service'), observerQueue], RETRY_DELAYS);
      await database.drop();
    },
  };
}

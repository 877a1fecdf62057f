import { randomUUID } from 'node:crypto';
import { parseConfig, queueName, redisReady, type Topology } from '@board/service-kit';
import { identityHeaders, type Role } from '@board/service-kit/contracts';
import {
  TEST_AMQP_URL,
  TEST_REDIS_URL,
  createTestDatabase,
  deleteTopology,
  observeEvents,
  testTopology,
  uniqueSuffix,
  type ObservedEvents,
  type TestDatabase,
} from '@board/service-kit/testing';
import { configShape } from '../src/config';
import { insertProfile } from '../src/data/profiles';
import { start, type RunningService } from '../src/service';

export const PASSCODE = 'correct horse battery staple';
export const RETRY_DELAYS = [50, 100];
const OBSERVER = 'test-observer';

export interface TestUser {
  id: string;
  email: string;
  username: string;
  displayName: string;
  role: Role;
}

export interface TestContext {
  service: RunningService;
  topology: Topology;
  redisPrefix: string;
  /** Every event the service publishes on the test exchange, recorded from a queue of the test's own. */
  eventLog: ObservedEvents;
  /** Creates a profile directly in the service's database. */
  seedUser: (role: Role) => Promise<TestUser>;
  /** Identity headers as the gateway would send them for `user`. */
  as: (user: { id: string; role: Role }) => Record<string, string>;
  stop: () => Promise<void>;
}

/** Starts user-service on its own database, exchange, queues and Redis prefix, plus an event observer; `overrides` add to its environment. */
export async function startTestService(label: string, overrides: Record<string, string> = {}): Promise<TestContext> {
  const database: TestDatabase = await createTestDatabase(label);
  const topology = testTopology();
  const redisPrefix = `test:${uniqueSuffix()}:`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    DATABASE_URL: database.url,
    AMQP_URL: TEST_AMQP_URL,
    REDIS_URL: TEST_REDIS_URL,
    EVENTS_EXCHANGE: topology.exchange,
    EVENTS_QUEUE_PREFIX: topology.queuePrefix,
    REDIS_KEY_PREFIX: redisPrefix,
    MEMBER_PASSCODE: PASSCODE,
    ...overrides,
  };
  const service = await start(parseConfig(configShape(env), env), { retryDelaysMs: RETRY_DELAYS, outboxPollIntervalMs: 50 });
  const observerQueue = queueName(topology, OBSERVER);
  const observer = await observeEvents({ topology, queue: observerQueue, retryDelaysMs: RETRY_DELAYS });
  if (!(await service.amqp.waitForConnection(5_000))) throw new Error('user-service did not reach RabbitMQ');
  await redisReady(service.redis);

  const seedUser = async (role: Role): Promise<TestUser> => {
    const suffix = uniqueSuffix();
    const user = { id: randomUUID(), email: `${suffix}@example.com`, username: `user_${suffix}`, displayName: `User ${suffix}`, role };
    await insertProfile(service.db, user);
    return user;
  };

  return {
    service,
    topology,
    redisPrefix,
    eventLog: observer,
    seedUser,
    as: ({ id, role }) => identityHeaders({ userId: id, role, sessionId: randomUUID() }),
    stop: async () => {
      const keys = await service.redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await service.redis.del(...keys);
      await observer.stop();
      await service.stop();
      await deleteTopology(topology, [queueName(topology, 'user-service'), observerQueue], RETRY_DELAYS);
      await database.drop();
    },
  };
}

import { randomUUID } from 'node:crypto';
import {
  AmqpConnection,
  EventConsumer,
  identityHeaders,
  parseConfig,
  queueName,
  redisReady,
  type AnyEvent,
  type Role,
  type Topology,
} from '@board/service-kit';
import {
  TEST_AMQP_URL,
  TEST_REDIS_URL,
  createTestDatabase,
  deleteTopology,
  silentLogger,
  testTopology,
  uniqueSuffix,
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

/** Records every event the service publishes on the test exchange, from a queue of the test's own. */
export interface EventLog {
  events: AnyEvent[];
  /** The events of `type` about user `id`. */
  about: (type: AnyEvent['type'], id: string) => AnyEvent[];
}

export interface TestContext {
  service: RunningService;
  topology: Topology;
  redisPrefix: string;
  eventLog: EventLog;
  /** Creates a profile directly in the service's database. */
  seedUser: (role: Role) => Promise<TestUser>;
  /** Identity headers as the gateway would send them for `user`. */
  as: (user: { id: string; role: Role }) => Record<string, string>;
  stop: () => Promise<void>;
}

/** Starts user-service on its own database, exchange, queues and Redis prefix, plus an event observer. */
export async function startTestService(label: string): Promise<TestContext> {
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
  };
  const service = await start(parseConfig(configShape(env), env), { retryDelaysMs: RETRY_DELAYS, outboxPollIntervalMs: 50 });
  const observer = await observe(topology);
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
    eventLog: observer.log,
    seedUser,
    as: ({ id, role }) => identityHeaders({ userId: id, role, sessionId: randomUUID() }),
    stop: async () => {
      const keys = await service.redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await service.redis.del(...keys);
      await observer.stop();
      await service.stop();
      await deleteTopology(topology, [queueName(topology, 'user-service'), queueName(topology, OBSERVER)], RETRY_DELAYS);
      await database.drop();
    },
  };
}

async function observe(topology: Topology): Promise<{ log: EventLog; stop: () => Promise<void> }> {
  const events: AnyEvent[] = [];
  const logger = silentLogger();
  const connection = new AmqpConnection({ url: TEST_AMQP_URL, logger, name: OBSERVER });
  const consumer = new EventConsumer({
    connection,
    topology,
    queue: queueName(topology, OBSERVER),
    routingKeys: ['#'],
    logger,
    retryDelaysMs: RETRY_DELAYS,
    handle: async (event) => {
      events.push(event);
    },
  });
  await consumer.start();
  connection.start();
  if (!(await connection.waitForConnection(5_000))) throw new Error('the event observer did not reach RabbitMQ');
  return {
    log: { events, about: (type, id) => events.filter((event) => event.type === type && event.data.id === id) },
    stop: async () => {
      await consumer.stop();
      await connection.close();
    },
  };
}

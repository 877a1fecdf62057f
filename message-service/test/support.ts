import { randomUUID } from 'node:crypto';
import {
  AmqpConnection,
  EventConsumer,
  identityHeaders,
  parseConfig,
  queueName,
  type AnyEvent,
  type Role,
  type Topology,
} from '@board/service-kit';
import { TEST_AMQP_URL, createTestDatabase, deleteTopology, silentLogger, testTopology, uniqueSuffix } from '@board/service-kit/testing';
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

/** Records every event on the test exchange, from a queue of the test's own. */
export interface EventLog {
  events: AnyEvent[];
  /** The events of `type` whose data.id is `id`. */
  about: (type: AnyEvent['type'], id: string) => AnyEvent[];
}

export interface TestContext {
  service: RunningService;
  topology: Topology;
  eventLog: EventLog;
  /** A user whose names message-service already knows (as if user.registered had arrived). */
  seedUser: (role: Role) => Promise<TestUser>;
  /** Identity headers as the gateway would send them for `user`. */
  as: (user: { id: string; role: Role }) => Record<string, string>;
  stop: () => Promise<void>;
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
  const observer = await observe(topology);
  if (!(await service.amqp.waitForConnection(5_000))) throw new Error('message-service did not reach RabbitMQ');

  const seedUser = async (role: Role): Promise<TestUser> => {
    const suffix = uniqueSuffix();
    const user = { id: randomUUID(), role, username: `user_${suffix}`, displayName: `User ${suffix}` };
    await insertAuthor(service.db, { ...user, asOf: new Date().toISOString() });
    return user;
  };

  return {
    service,
    topology,
    eventLog: observer.log,
    seedUser,
    as: ({ id, role }) => identityHeaders({ userId: id, role, sessionId: randomUUID() }),
    stop: async () => {
      await observer.stop();
      await service.stop();
      await deleteTopology(topology, [queueName(topology, 'message-service'), queueName(topology, OBSERVER)], RETRY_DELAYS);
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

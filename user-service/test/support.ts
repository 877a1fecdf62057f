import { randomUUID } from 'node:crypto';
import { parseConfig, redisReady, type Topology } from '@board/service-kit';
import { identityHeaders, type Role } from '@board/service-kit/contracts';
import { TestWorld, uniqueSuffix, type ObservedEvents } from '@board/service-kit/testing';
import { configShape } from '../src/config';
import { insertProfile } from '../src/data/profiles';
import { start, type RunningService } from '../src/service';

export const PASSCODE = 'correct horse battery staple';
export const RETRY_DELAYS = [50, 100];

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

/** Starts user-service in a test world of its own (database, exchange, queues, Redis prefix), plus an event observer; `overrides` add to its environment. */
export async function startTestService(label: string, overrides: Record<string, string> = {}): Promise<TestContext> {
  const world = await TestWorld.create({ database: label, retryDelaysMs: RETRY_DELAYS });
  const env = world.env({ MEMBER_PASSCODE: PASSCODE, ...overrides });
  const service = world.track(await start(parseConfig(configShape(env), env), { retryDelaysMs: RETRY_DELAYS, outboxPollIntervalMs: 50 }));
  const observer = await world.observeEvents();
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
    topology: world.topology,
    redisPrefix: world.redisPrefix,
    eventLog: observer,
    seedUser,
    as: ({ id, role }) => identityHeaders({ userId: id, role, sessionId: randomUUID() }),
    stop: () => world.cleanUp(),
  };
}

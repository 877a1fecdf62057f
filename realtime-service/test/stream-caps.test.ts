import { randomUUID } from 'node:crypto';
import { closeRedis, createRedis, redisReady, type Redis, type Topology } from '@board/service-kit';
import { silentLogger, testTopology, waitFor } from '@board/service-kit/testing';
import { start, type RunningService } from '../src/service';
import { StreamSlots } from '../src/store/stream-slots';
import { SseReader } from './support/sse-reader';
import { REDIS_URL, asHeaders, deleteKeys, removeTopology, someone, testConfig, testPrefix, waitUntilReady } from './support/harness';

let topology: Topology;
let prefix: string;
let redis: Redis;
/** Two instances sharing one Redis, as replicas do. */
let instances: RunningService[];
const readers: SseReader[] = [];

beforeAll(async () => {
  topology = testTopology();
  prefix = testPrefix();
  redis = createRedis(REDIS_URL, silentLogger(), 'stream-caps-test');
  await redisReady(redis);
  const config = testConfig(topology, prefix, { MAX_STREAMS_PER_USER: '2', MAX_STREAMS_PER_ADDRESS: '3', HEARTBEAT_INTERVAL_MS: '1000' });
  instances = [await start(config), await start(config)];
  await Promise.all(instances.map((instance) => waitUntilReady(instance.url)));
});

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  // Slots are released as the closes reach the instances.
  await waitFor(async () => (await redis.keys(`${prefix}streams:*`)).length === 0, { what: 'every slot to be released' });
});

afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await removeTopology(topology);
  await deleteKeys(redis, prefix);
  await closeRedis(redis);
});

/** Opens a stream on instance `index` as `identity`, from client address `address` (as the gateway forwards it). */
async function open(index: number, identity: ReturnType<typeof someone>, address: string): Promise<SseReader> {
  const reader = await SseReader.open(`${instances[index]!.url}/api/events?channels=general`, { ...asHeaders(identity), 'x-forwarded-for': address });
  readers.push(reader);
  return reader;
}

async function expectTooMany(reader: SseReader, whose: string): Promise<void> {
  expect(reader.status).toBe(429);
  expect(reader.response.headers['content-type']).toMatch(/^application\/json/);
  expect(reader.response.headers['retry-after']).toBe('5');
  const { error } = (await reader.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe('TOO_MANY_REQUESTS');
  expect(error.message).toContain(whose);
}

describe('caps on open streams', () => {
  it('When a user holds as many streams as allowed, across both instances, Then one more is 429 until one closes', async () => {
    const user = someone('member');
    const first = await open(0, user, '203.0.113.1');
    await open(1, user, '203.0.113.2');
    expect(first.status).toBe(200);
    await expectTooMany(await open(0, user, '203.0.113.3'), 'this account');
    await expectTooMany(await open(1, user, '203.0.113.3'), 'this account');
    // Another user is not held back by it.
    expect((await open(1, someone('member'), '203.0.113.4')).status).toBe(200);

    first.close();
    await waitFor(async () => {
      const again = await open(1, user, '203.0.113.5');
      if (again.status === 200) return true;
      again.close();
      return false;
    }, { what: 'a slot freed by the close' });
  });

  it('When one address holds as many streams as allowed, Then one more from it is 429, whoever asks', async () => {
    const address = '198.51.100.7';
    for (let index = 0; index < 3; index += 1) expect((await open(index % 2, someone('user'), address)).status).toBe(200);
    await expectTooMany(await open(0, someone('user'), address), 'this address');
    expect((await open(0, someone('user'), '198.51.100.8')).status).toBe(200);
  });
});

describe('stream slots of an instance that stops renewing', () => {
  it('When a holder vanishes without releasing, Then its slots lapse with their lease', async () => {
    const slots = new StreamSlots(redis, `${prefix}lapse:`, { perUser: 1, perAddress: 10, visitorsPerAddress: 10, leaseMs: 300 });
    slots.stop(); // as a crashed instance: it renews nothing and releases nothing
    const holder = { userId: randomUUID(), address: '192.0.2.1' };
    expect((await slots.claim(holder)).granted).toBe(true);
    expect(await slots.claim(holder)).toEqual({ granted: false, cap: 'user' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await slots.claim(holder)).granted).toBe(true);
    await deleteKeys(redis, `${prefix}lapse:`);
  });
});

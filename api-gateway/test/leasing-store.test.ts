import type { Options } from 'express-rate-limit';
import { createRedis, redisReady, type Redis } from '@board/service-kit';
import { TEST_REDIS_URL, silentLogger, waitFor, type TestWorld } from '@board/service-kit/testing';
import { LeasingRedisStore, leaseSizeFor, StoreUnavailableError } from '../src/limits/stores';
import { OutageReporter } from '../src/outage';
import { createGatewayWorld } from './support/gateway';

/*
 * The per-client limit's store against a real Redis: several stores on one Redis stand for
 * gateway replicas. What is checked is the contract a shared limit needs (never more hits admitted
 * than the limit, across replicas) and what leasing buys (one Redis round trip per lease).
 */

let world: TestWorld;
let prefix: string;
const WINDOW_MS = 60_000;
let redis: Redis;
let stores: LeasingRedisStore[] = [];
let keyNumber = 0;
const failures = { count: 0, inc: () => (failures.count += 1) };

const newKey = () => `client-${(keyNumber += 1)}`;

function storeOn(connection: Redis, limit: number, leaseSize: number, windowMs = WINDOW_MS, maxLeases?: number): LeasingRedisStore {
  const outage = new OutageReporter(silentLogger(), failures, { what: 'test limit', meanwhile: 'nothing' });
  const store = new LeasingRedisStore(connection, outage, { prefix, limit, leaseSize, maxLeases });
  store.init({ windowMs } as Options);
  stores.push(store);
  return store;
}

/** How many hits Redis has handed out for `key` (what every replica has leased). */
const leasedInRedis = async (key: string) => Number(await redis.get(`${prefix}${key}`));

const hitsOf = async (store: LeasingRedisStore, key: string, count: number) => {
  const hits: number[] = [];
  for (let index = 0; index < count; index += 1) hits.push((await store.increment(key)).totalHits);
  return hits;
};

beforeAll(async () => {
  world = await createGatewayWorld();
  prefix = world.redisPrefix;
  redis = world.redis;
});

afterEach(() => {
  for (const store of stores) store.shutdown();
  stores = [];
});

afterAll(() => world.cleanUp());

describe('LeasingRedisStore', () => {
  it('numbers hits from a lease and asks Redis again only when the lease is spent', async () => {
    const store = storeOn(redis, 1_000, 5);
    const key = newKey();
    expect(await hitsOf(store, key, 12)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Three leases of five for twelve hits: three round trips instead of twelve.
    expect(await leasedInRedis(key)).toBe(15);
  });

  it('lets the requests that arrive while a lease is on its way share it', async () => {
    const store = storeOn(redis, 1_000, 5);
    const key = newKey();
    const hits = await Promise.all(Array.from({ length: 5 }, () => store.increment(key)));
    expect(hits.map((hit) => hit.totalHits).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(await leasedInRedis(key)).toBe(5);
  });

  it('never admits more than the limit across replicas, and refuses early by at most the other replicas\u2019 leases', async () => {
    const limit = 100;
    const leaseSize = 4;
    const replicas = [storeOn(redis, limit, leaseSize), storeOn(redis, limit, leaseSize), storeOn(redis, limit, leaseSize)];
    const key = newKey();
    // Uneven, concurrent traffic: each round sends a burst to every replica.
    let admitted = 0;
    for (let round = 0; round < 30; round += 1) {
      const bursts = replicas.map((replica, index) => Array.from({ length: index + 1 + (round % 3) }, () => replica.increment(key)));
      const hits = await Promise.all(bursts.flat());
      admitted += hits.filter((hit) => hit.totalHits <= limit).length;
    }
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(limit - (replicas.length - 1) * leaseSize);
  });

  it('once a lease reaches the limit, refuses the rest of the window without asking Redis', async () => {
    const store = storeOn(redis, 10, 5);
    const key = newKey();
    await hitsOf(store, key, 10);
    const refused = await hitsOf(store, key, 20);
    expect(refused.every((hit) => hit > 10)).toBe(true);
    expect(await leasedInRedis(key)).toBe(10);
  });

  it('starts counting again in a new window', async () => {
    const store = storeOn(redis, 1_000, 5, 300);
    const key = newKey();
    const first = await store.increment(key);
    await hitsOf(store, key, 2);
    expect(first.resetTime!.getTime()).toBeLessThanOrEqual(Date.now() + 300);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const next = await store.increment(key);
    expect(next.totalHits).toBe(1);
    expect(next.resetTime!.getTime()).toBeGreaterThan(first.resetTime!.getTime());
  });

  it('holds a bounded number of leases, and never hands out again the unspent hits of one it dropped', async () => {
    const store = storeOn(redis, 1_000, 5, WINDOW_MS, 2);
    const [first, second, third] = [newKey(), newKey(), newKey()];
    expect((await store.increment(first)).totalHits).toBe(1);
    expect((await store.increment(second)).totalHits).toBe(1);
    expect((await store.increment(third)).totalHits).toBe(1); // drops the first client's lease
    expect((await store.increment(second)).totalHits).toBe(2);
    expect((await store.increment(first)).totalHits).toBe(6);
    expect(await leasedInRedis(first)).toBe(10);
  });

  it('gives a hit back to the shared count on decrement, and forgets a key on reset', async () => {
    const store = storeOn(redis, 1_000, 5);
    const key = newKey();
    await hitsOf(store, key, 2);
    await store.decrement(key);
    expect(await leasedInRedis(key)).toBe(4);
    await store.resetKey(key);
    expect(await redis.exists(`${prefix}${key}`)).toBe(0);
    expect((await store.increment(key)).totalHits).toBe(1);
  });

  it('keeps spending a lease in hand while Redis is away, then fails as unavailable until it is back', async () => {
    const proxy = await world.proxy(TEST_REDIS_URL);
    const connection = createRedis(proxy.urlFor(TEST_REDIS_URL), silentLogger(), 'leasing-test', { commandTimeoutMs: 300 });
    await redisReady(connection);
    try {
      const store = storeOn(connection, 1_000, 5);
      const key = newKey();
      await hitsOf(store, key, 2);
      await proxy.stop();
      expect(await hitsOf(store, key, 3)).toEqual([3, 4, 5]);
      const failuresBefore = failures.count;
      await expect(store.increment(key)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(failures.count).toBe(failuresBefore + 1);
      await proxy.start();
      // Hits that failed were never counted: the next lease continues where the last one ended.
      const next = await waitFor(() => store.increment(key), { what: 'Redis to be back' });
      expect(next.totalHits).toBe(6);
    } finally {
      connection.disconnect();
      await proxy.stop();
    }
  });
});

describe('leaseSizeFor', () => {
  it('keeps small limits exact and a lease a small share of larger ones', () => {
    expect(leaseSizeFor(8)).toBe(1);
    expect(leaseSizeFor(79)).toBe(1);
    expect(leaseSizeFor(80)).toBe(2);
    expect(leaseSizeFor(600)).toBe(15);
    expect(leaseSizeFor(1_000_000)).toBe(50);
  });
});

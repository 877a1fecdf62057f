import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RevocationList, RevocationMirror, parseRevocationNotice } from '../src/redis/revocations';
import { createRedis } from '../src/redis/client';
import { TEST_REDIS_URL, TestWorld, silentLogger, waitFor } from '../src/testing';

let world: TestWorld;
let prefix: string;
const logger = silentLogger();
let writer: Redis;
let list: RevocationList;

beforeAll(async () => {
  world = await TestWorld.create({ broker: false });
  prefix = world.redisPrefix;
  writer = world.redis;
  list = new RevocationList(writer, prefix);
});

afterAll(() => world.cleanUp());

async function startMirror(): Promise<RevocationMirror> {
  const lookups = createRedis(TEST_REDIS_URL, logger, 'roles-lookups');
  const subscriber = createRedis(TEST_REDIS_URL, logger, 'roles-notices');
  const mirror = new RevocationMirror({ list: new RevocationList(lookups, prefix), subscriber, logger });
  mirror.start();
  world.onCleanUp(async () => {
    mirror.stop();
    await Promise.all([lookups.quit(), subscriber.quit()]);
  });
  await waitFor(() => mirror.isSynced, { what: 'the mirror to sync' });
  return mirror;
}

describe('role changes in the revocation list', () => {
  it('When a role change is recorded, Then the standing of every token of that user carries the new role', async () => {
    const userId = randomUUID();
    expect(await list.standing(randomUUID(), userId)).toEqual({ revoked: false });
    await list.recordRole({ userId, role: 'user', version: 1 });
    expect(await list.standing(randomUUID(), userId)).toEqual({ revoked: false, role: 'user' });
    expect(await writer.ttl(`${prefix}revoked:role:${userId}`)).toBeGreaterThan(3_500);
  });

  it('When an older change (a lower user version) arrives after a newer one, Then the newer one stands', async () => {
    const userId = randomUUID();
    await list.recordRole({ userId, role: 'user', version: 2 });
    await list.recordRole({ userId, role: 'admin', version: 1 });
    expect((await list.standing(randomUUID(), userId)).role).toBe('user');
    await list.recordRole({ userId, role: 'member', version: 3 });
    expect((await list.standing(randomUUID(), userId)).role).toBe('member');
  });

  it('When the mirror starts after a change, or hears one while running, Then it knows the role', async () => {
    const before = randomUUID();
    await list.recordRole({ userId: before, role: 'member', version: 4 });
    const mirror = await startMirror();
    expect(await mirror.standing(randomUUID(), before)).toEqual({ revoked: false, role: 'member' });

    const during = randomUUID();
    await list.recordRole({ userId: during, role: 'user', version: 7 });
    await waitFor(async () => (await mirror.standing(randomUUID(), during)).role === 'user', { what: 'the notice' });
    // An older change heard late does not undo it.
    await writer.publish(list.channel, JSON.stringify({ role: { userId: during, role: 'admin', version: 6 } }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await mirror.standing(randomUUID(), during)).role).toBe('user');
  });

  it('reads only well-formed role notices', () => {
    const userId = randomUUID();
    expect(parseRevocationNotice(JSON.stringify({ role: { userId, role: 'member', version: 5 } }))).toEqual({ role: { userId, role: 'member', version: 5 } });
    expect(parseRevocationNotice(JSON.stringify({ role: { userId, role: 'root', version: 5 } }))).toEqual({});
    expect(parseRevocationNotice(JSON.stringify({ role: { userId, role: 'user', version: 1.5 } }))).toEqual({});
    // A role notice is not a revocation of the user.
    expect(parseRevocationNotice(JSON.stringify({ role: { userId, role: 'user', version: 5 } })).userId).toBeUndefined();
  });
});

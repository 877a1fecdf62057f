import type { Redis } from 'ioredis';
import { RevocationList, RevocationMirror } from '../src/redis/revocations';
import { createRedis, redisReady } from '../src/redis/client';
import { TEST_REDIS_URL, TestWorld, silentLogger, waitFor, type TcpProxy } from '../src/testing';

/*
 * The mirror's two connections (lookups and SCAN; notices) each run through a proxy of their own,
 * so a test can cut one and show which answers still come from memory.
 */
let world: TestWorld;
let prefix: string;
const logger = silentLogger();
let writer: Redis;
let lookupProxy: TcpProxy;
let noticeProxy: TcpProxy;
let mirror: RevocationMirror;
let connections: Redis[];
const syncChanges: boolean[] = [];

/** Lets lookups through again, once their connection is back. */
async function restoreLookups(): Promise<void> {
  await waitFor(() => connections[0]!.status !== 'ready', { what: 'the lookup connection to notice the cut' });
  await lookupProxy.start();
  await redisReady(connections[0]!, 5_000);
}

beforeAll(async () => {
  world = await TestWorld.create({ broker: false });
  prefix = world.redisPrefix;
  writer = world.redis;
  [lookupProxy, noticeProxy] = await Promise.all([world.proxy(TEST_REDIS_URL), world.proxy(TEST_REDIS_URL)]);
  // Recorded before the mirror exists: it must learn these from Redis, not from notices.
  const writerList = new RevocationList(writer, prefix);
  await writerList.revokeSessions(['session-before']);
  await writerList.revokeUser('user-before');

  const lookups = createRedis(lookupProxy.urlFor(TEST_REDIS_URL), logger, 'mirror-lookups', { commandTimeoutMs: 500 });
  const subscriber = createRedis(noticeProxy.urlFor(TEST_REDIS_URL), logger, 'mirror-notices');
  connections = [lookups, subscriber];
  mirror = new RevocationMirror({
    list: new RevocationList(lookups, prefix),
    subscriber,
    logger,
    retryDelayMs: 100,
    onSyncChange: (synced) => syncChanges.push(synced),
  });
  mirror.start();
  await waitFor(() => mirror.isSynced, { what: 'the mirror to sync' });
});

afterAll(async () => {
  mirror.stop();
  for (const connection of connections) connection.disconnect();
  await world.cleanUp();
});

describe('RevocationMirror', () => {
  it('answers from memory what was recorded before it started and what was announced since', async () => {
    await new RevocationList(writer, prefix).revokeSessions(['session-after', 'session-after-2']);
    await waitFor(() => mirror.isRevoked('session-after-2', 'someone'), { what: 'the notice', timeoutMs: 2_000 });

    await lookupProxy.stop(); // every answer below comes from memory, or fails
    try {
      expect(mirror.isSynced).toBe(true);
      await expect(mirror.isRevoked('session-before', 'someone')).resolves.toBe(true);
      await expect(mirror.isRevoked('any-session', 'user-before')).resolves.toBe(true);
      await expect(mirror.isRevoked('session-after', 'someone')).resolves.toBe(true);
      await expect(mirror.isRevoked('session-never-revoked', 'someone')).resolves.toBe(false);
    } finally {
      await restoreLookups();
    }
  });

  it('asks Redis while the notices are cut off, and is whole again once they return', async () => {
    await noticeProxy.stop();
    await waitFor(() => !mirror.isSynced, { what: 'the mirror to notice' });
    // Revoked while the mirror cannot hear of it: Redis still knows, and is asked.
    await new RevocationList(writer, prefix).revokeSessions(['session-during']);
    await expect(mirror.isRevoked('session-during', 'someone')).resolves.toBe(true);
    await expect(mirror.isRevoked('session-never-revoked', 'someone')).resolves.toBe(false);
    // Still known without Redis: what the mirror learned before.
    await lookupProxy.stop();
    await expect(mirror.isRevoked('session-before', 'someone')).resolves.toBe(true);
    await expect(mirror.isRevoked('session-never-revoked', 'someone')).rejects.toThrow();
    await restoreLookups();

    await noticeProxy.start();
    await waitFor(() => mirror.isSynced, { what: 'the mirror to sync again' });
    await lookupProxy.stop();
    try {
      // The sync read what was missed.
      await expect(mirror.isRevoked('session-during', 'someone')).resolves.toBe(true);
    } finally {
      await restoreLookups();
    }
    expect(syncChanges).toEqual([true, false, true]);
  });

  it('stays out of step, asking Redis, until a sync can read the recorded list', async () => {
    await lookupProxy.stop();
    await noticeProxy.stop();
    await waitFor(() => !mirror.isSynced, { what: 'the mirror to notice' });
    await noticeProxy.start(); // notices are back, but the list cannot be read yet
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(mirror.isSynced).toBe(false);
    await restoreLookups();
    await waitFor(() => mirror.isSynced, { what: 'the retried sync' });
  });

  it('forgets a revocation once every token it could refuse has expired', async () => {
    const subscriber = writer.duplicate();
    const shortLived = new RevocationMirror({ list: new RevocationList(connections[0]!, prefix, 1), subscriber, logger });
    shortLived.start();
    try {
      await waitFor(() => shortLived.isSynced, { what: 'the short-lived mirror to sync' });
      await new RevocationList(writer, prefix, 1).revokeSessions(['session-brief']);
      await waitFor(() => shortLived.isRevoked('session-brief', 'someone'), { what: 'the notice', timeoutMs: 2_000 });
      await waitFor(async () => !(await shortLived.isRevoked('session-brief', 'someone')), { what: 'the entry to lapse', timeoutMs: 3_000 });
      expect(shortLived.isSynced).toBe(true);
    } finally {
      shortLived.stop();
      subscriber.disconnect();
    }
  });
});

describe('RevocationMirror whose notices are cut while its first scan runs', () => {
  /** The list the mirror reads, telling the test when a scan begins and ends. */
  class WatchedList extends RevocationList {
    scansStarted = 0;
    scansFinished = 0;

    override async recorded() {
      this.scansStarted += 1;
      try {
        return await super.recorded();
      } finally {
        this.scansFinished += 1;
      }
    }
  }

  it('stays out of step, and still refuses what was revoked while the notices were down', async () => {
    const [scanProxy, cutProxy] = await Promise.all([world.proxy(TEST_REDIS_URL), world.proxy(TEST_REDIS_URL)]);
    const lookups = createRedis(scanProxy.urlFor(TEST_REDIS_URL), logger, 'cut-mirror-lookups');
    const subscriber = createRedis(cutProxy.urlFor(TEST_REDIS_URL), logger, 'cut-mirror-notices');
    const list = new WatchedList(lookups, prefix);
    const cutMirror = new RevocationMirror({ list, subscriber, logger, retryDelayMs: 100 });
    try {
      await Promise.all([redisReady(lookups, 5_000), redisReady(subscriber, 5_000)]);
      scanProxy.freeze(); // the scan's first SCAN gets no answer until thawed
      cutMirror.start();
      await waitFor(() => list.scansStarted === 1, { what: 'the first scan to begin' });

      await cutProxy.stop();
      await waitFor(() => subscriber.status !== 'ready', { what: 'the subscriber to notice the cut' });
      scanProxy.thaw();
      await waitFor(() => list.scansFinished === 1, { what: 'the first scan to end' });
      // No notice can reach the mirror now: only Redis knows of this one.
      await new RevocationList(writer, prefix).revokeSessions(['session-while-cut']);

      expect(cutMirror.isSynced).toBe(false);
      await expect(cutMirror.isRevoked('session-while-cut', 'someone')).resolves.toBe(true);

      await cutProxy.start();
      await waitFor(() => cutMirror.isSynced, { what: 'a sync once the notices are back' });
      await expect(cutMirror.isRevoked('session-while-cut', 'someone')).resolves.toBe(true);
    } finally {
      cutMirror.stop();
      lookups.disconnect();
      subscriber.disconnect();
      await Promise.all([scanProxy.stop(), cutProxy.stop()]);
    }
  });
});

import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { RevocationList, closeRedis, createEvent, createRedis, redisReady, type Redis, type Topology } from '@board/service-kit';
import { type AnyEvent, type Identity } from '@board/service-kit/contracts';
import { TEST_REDIS_URL, TcpProxy, publishRaw, silentLogger, sleep, testTopology, waitFor } from '@board/service-kit/testing';
import request from 'supertest';
import { isAfter } from '../src/domain/stream-id';
import { start, type RunningService } from '../src/service';
import { Listener } from './support/event-source';
import {
  REDIS_URL,
  asHeaders,
  deleteKeys,
  messageData,
  metricValue,
  publish,
  removeTopology,
  someone,
  testConfig,
  testPrefix,
  waitUntilReady,
} from './support/harness';
import { SseReader } from './support/sse-reader';

const MAX_CLIENT_BUFFER_BYTES = 65_536;

let topology: Topology;
let prefix: string;
let redis: Redis;
let a: RunningService;
let b: RunningService;
const clients: { close: () => void }[] = [];

const startInstance = () =>
  start(testConfig(topology, prefix, { STREAM_MAX_LENGTH: '100', MAX_CLIENT_BUFFER_BYTES: String(MAX_CLIENT_BUFFER_BYTES) }));

beforeAll(async () => {
  topology = testTopology();
  prefix = testPrefix();
  redis = createRedis(REDIS_URL, silentLogger(), 'fanout-test');
  await redisReady(redis);
  [a, b] = await Promise.all([startInstance(), startInstance()]);
  await Promise.all([waitUntilReady(a.url), waitUntilReady(b.url)]);
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  await removeTopology(topology);
  await deleteKeys(redis, prefix);
  await closeRedis(redis);
});

/** An EventSource on `instance`, as the gateway would forward `identity` (plus any extra headers). */
async function listen(instance: RunningService, identity: Identity, query = '', headers: Record<string, string> = {}) {
  const listener = await Listener.open(`${instance.url}/api/events${query}`, { ...asHeaders(identity), ...headers });
  clients.push(listener);
  return listener;
}

async function read(instance: RunningService, identity: Identity, headers: Record<string, string> = {}) {
  const reader = await SseReader.open(`${instance.url}/api/events`, { ...asHeaders(identity), ...headers });
  expect(reader.status).toBe(200);
  clients.push(reader);
  return reader;
}

const generalMessage = (authorId: string = randomUUID(), body = 'hello'): AnyEvent =>
  createEvent('test-producer', 'message.created', messageData('general', authorId, body));

/** Appends straight to the stream (as the consumer does), faster than going through RabbitMQ. */
async function append(instance: RunningService, event: AnyEvent = generalMessage()): Promise<string> {
  const id = await instance.eventLog.append(event);
  if (id === null) throw new Error('the event was appended before');
  return id;
}

const consumed = async (outcome: string) =>
  (await metricValue(a.url, 'events_consumed_total', { outcome })) + (await metricValue(b.url, 'events_consumed_total', { outcome }));

describe('fan-out across instances', () => {
  it('delivers an event consumed by either instance to the clients of both, once, even when redelivered', async () => {
    const ticket = await request(a.url).post('/api/events/ticket').set(asHeaders(someone('member')));
    expect(ticket.body.expiresIn).toBe(30);
    const onA = await Listener.open(`${a.url}/api/events?ticket=${ticket.body.ticket as string}`);
    clients.push(onA);
    const onB = await listen(b, someone('member'));
    const duplicatesBefore = await consumed('duplicate');

    const event = await publish(topology, 'message.created', messageData('general', randomUUID()));
    await publishRaw(topology, event.type, event); // the same event again, as after a redelivery
    await waitFor(async () => (await consumed('duplicate')) === duplicatesBefore + 1, { what: 'the duplicate to be consumed' });
    await onA.waitFor((received) => received.length >= 1, 'the event on A');
    await onB.waitFor((received) => received.length >= 1, 'the event on B');

    for (const listener of [onA, onB]) {
      expect(listener.received).toHaveLength(1);
      expect(listener.received[0]).toEqual({ id: expect.stringMatching(/^\d+-\d+$/), type: 'message.created', data: event.data });
    }
    expect(onA.ids()).toEqual(onB.ids());
    expect(await metricValue(a.url, 'sse_events_delivered_total', { type: 'message.created' })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(b.url, 'sse_fanout_latency_seconds_count')).toBeGreaterThanOrEqual(1);
  });
});

describe('resuming with Last-Event-ID', () => {
  it('replays exactly the events a client missed, in stream order, then goes live', async () => {
    const member = someone('member');
    const watcher = await listen(a, someone('member'));
    const first = await listen(a, member);
    await publish(topology, 'message.created', messageData('general', randomUUID(), 'seen'));
    await first.waitFor((received) => received.length === 1, 'the first event');
    const lastSeen = first.received[0]!.id;
    first.close();

    for (const body of ['missed 1', 'missed 2', 'missed 3']) await publish(topology, 'message.created', messageData('general', randomUUID(), body));
    await watcher.waitFor((received) => received.length === 4, 'the missed events to be appended');
    const missed = watcher.received.slice(1);

    const replaysBefore = await metricValue(b.url, 'sse_replays_total');
    const resumed = await listen(b, member, '', { 'last-event-id': lastSeen });
    await resumed.waitFor((received) => received.length >= 3, 'the replay');
    await publish(topology, 'message.created', messageData('general', randomUUID(), 'live'));
    await watcher.waitFor((received) => received.length === 5, 'the live event');
    await resumed.waitFor((received) => received.length >= 4, 'the live event after the replay');

    expect(resumed.received).toEqual([...missed, watcher.received[4]]);
    expect(resumed.received.map((event) => event.data.body)).toEqual(expect.arrayContaining(['missed 1', 'missed 2', 'missed 3', 'live']));
    expect(await metricValue(b.url, 'sse_replays_total')).toBe(replaysBefore + 1);
  });

  it('takes lastEventId from the query when the header cannot be set', async () => {
    const member = someone('member');
    const seen = await append(a);
    const missed = await append(a);
    const reader = await SseReader.open(`${b.url}/api/events?lastEventId=${seen}`, asHeaders(member));
    clients.push(reader);
    const [replayed] = await reader.waitForEvents(1);
    expect(replayed?.id).toBe(missed);
  });

  it('leaves no gap and no duplicate at the seam while events keep arriving', async () => {
    const member = someone('member');
    const appended: string[] = [];
    for (let index = 0; index < 5; index += 1) appended.push(await append(a));
    const resumeAfter = appended[appended.length - 1]!;
    const appending = (async () => {
      for (let index = 0; index < 40; index += 1) {
        appended.push(await append(index % 2 === 0 ? a : b));
        await sleep(1);
      }
    })();
    const resumed = await listen(b, member, '', { 'last-event-id': resumeAfter });
    await appending;
    const expected = appended.slice(5);
    await resumed.waitFor((received) => received.length >= expected.length, 'every appended event');
    await sleep(100);
    expect(resumed.ids()).toEqual(expected);
  });

  it('sends resync instead of a partial replay when the id is older than the stream holds', async () => {
    const member = someone('member');
    const early = await append(a);
    for (let index = 0; index < 300; index += 1) await append(a);
    const { first, last } = await a.eventLog.bounds();
    expect(isAfter(first!, early)).toBe(true);

    const replaysBefore = await metricValue(b.url, 'sse_replays_total');
    const reader = await read(b, member, { 'last-event-id': early });
    const [resync] = await reader.waitForEvents(1);
    expect(resync).toEqual({ id: last, event: 'resync', data: JSON.stringify({ reason: 'too_old' }) });
    const live = await publish(topology, 'message.created', messageData('general', randomUUID(), 'after the resync'));
    const frames = await reader.waitForEvents(2);
    expect(frames.map((frame) => frame.event)).toEqual(['resync', 'message.created']);
    expect(JSON.parse(frames[1]!.data)).toEqual(live.data);
    expect(await metricValue(b.url, 'sse_resyncs_total', { reason: 'too_old' })).toBe(1);
    expect(await metricValue(b.url, 'sse_replays_total')).toBe(replaysBefore);
  });

  it('sends resync for a Last-Event-ID that is not a stream id', async () => {
    const reader = await read(a, someone('member'), { 'last-event-id': 'garbage' });
    const [resync] = await reader.waitForEvents(1);
    expect(resync).toEqual(expect.objectContaining({ event: 'resync', data: JSON.stringify({ reason: 'malformed_id' }) }));
  });
});

describe('per-recipient rules', () => {
  it('hides authors from users except on their own messages, shows them to members, and filters by channel', async () => {
    const author = someone('user');
    const asUser = await listen(a, someone('user'));
    const asMember = await listen(a, someone('member'));
    const elsewhere = await listen(a, someone('member'), '?channels=random');
    const asAuthor = await listen(b, author);

    const created = await publish(topology, 'message.created', messageData('general', author.userId));
    const updated = await publish(topology, 'message.updated', { ...created.data, body: 'edited', editedAt: new Date().toISOString() });
    const profile = await publish(topology, 'user.updated', { id: author.userId, username: 'writer', displayName: 'Writer' });
    await asMember.waitFor((received) => received.length === 3, 'both messages and the profile update');
    await asAuthor.waitFor((received) => received.length === 2, 'both own messages');

    const { authorId: _hidden, ...anonymous } = created.data;
    expect(asUser.received.map((event) => event.data)).toEqual([anonymous, { ...anonymous, body: 'edited', editedAt: updated.data.editedAt }]);
    expect(asMember.of('message.created')[0]?.data).toEqual(created.data);
    expect(asMember.of('message.updated')[0]?.data).toEqual(updated.data);
    expect(asMember.of('user.updated')[0]?.data).toEqual(profile.data);
    expect(asAuthor.received.map((event) => event.data.authorId)).toEqual([author.userId, author.userId]);
    expect(asAuthor.of('user.updated')).toHaveLength(0);
    expect(elsewhere.received.map((event) => event.type)).toEqual(['user.updated']);
  });

  it('sends a user their own role change and renders their next frames for the new role', async () => {
    const promoted = someone('user');
    const listener = await listen(a, promoted);
    const bystander = await listen(a, someone('user'));
    const before = await publish(topology, 'message.created', messageData('general', randomUUID()));
    await listener.waitFor((received) => received.length === 1, 'the message before the change');
    expect(listener.received[0]?.data).not.toHaveProperty('authorId');

    await publish(topology, 'user.role_changed', { id: promoted.userId, role: 'member', previousRole: 'user' });
    await listener.waitFor((received) => received.length === 2, 'the role change');
    expect(listener.received[1]).toEqual(expect.objectContaining({ type: 'user.role_changed', data: { id: promoted.userId, role: 'member', previousRole: 'user' } }));

    const after = await publish(topology, 'message.created', messageData('general', randomUUID()));
    await listener.waitFor((received) => received.length === 3, 'the message after the change');
    expect(listener.received[2]?.data).toEqual(after.data);
    await bystander.waitFor((received) => received.length === 2, 'both messages for the bystander');
    expect(bystander.received.map((event) => event.data.id)).toEqual([before.data.id, after.data.id]);
    expect(bystander.received[1]?.data).not.toHaveProperty('authorId');
  });

  it('closes every stream of a deleted user and tells admins', async () => {
    const doomed = someone('member');
    const onA = await read(a, doomed);
    const onB = await read(b, { ...doomed, sessionId: randomUUID() });
    const bystander = await read(a, someone('member'));
    const admin = await listen(a, someone('admin'));

    await publish(topology, 'user.deleted', { id: doomed.userId });
    await Promise.all([onA.waitForEnd(), onB.waitForEnd()]);
    await admin.waitFor((received) => received.length === 1, 'the deletion for the admin');
    expect(admin.received[0]).toEqual(expect.objectContaining({ type: 'user.deleted', data: { id: doomed.userId } }));
    expect(bystander.ended).toBe(false);
    expect(bystander.events()).toHaveLength(0);
  });

  it('closes the streams of a revoked session, then of a revoked user', async () => {
    const revocations = new RevocationList(redis, prefix);
    const user = someone('member');
    const laptop = await read(a, user);
    const phone = await read(b, { ...user, sessionId: randomUUID() });
    const other = await read(a, someone('member'));

    await revocations.revokeSessions([user.sessionId]);
    await laptop.waitForEnd();
    await sleep(200);
    expect(phone.ended).toBe(false);

    await revocations.revokeUser(user.userId);
    await phone.waitForEnd();
    expect(other.ended).toBe(false);
  });
});

describe('backpressure', () => {
  it('drops a client that stops reading while a healthy one keeps receiving', async () => {
    const stalled = net.connect({ host: '127.0.0.1', port: (a.server.address() as net.AddressInfo).port });
    clients.push({ close: () => stalled.destroy() });
    await new Promise((resolve) => stalled.once('connect', resolve));
    const headers = Object.entries(asHeaders(someone('member'))).map(([name, value]) => `${name}: ${value}\r\n`);
    stalled.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.join('')}\r\n`);
    stalled.pause(); // never reads: the kernel buffers fill up, then the server's
    const healthy = await read(a, someone('member'));
    await waitFor(async () => (await metricValue(a.url, 'sse_connections')) >= 2, { what: 'both streams' });

    const bigBody = 'x'.repeat(256 * 1024);
    const appended: string[] = [];
    while ((await metricValue(a.url, 'sse_clients_dropped_total', { reason: 'slow_client' })) === 0) {
      if (appended.length === 100) throw new Error('the stalled client was never dropped');
      appended.push(await append(b, generalMessage(randomUUID(), bigBody)));
      await healthy.waitForEvents(appended.length);
    }
    appended.push(await append(b, generalMessage()));
    const frames = await healthy.waitForEvents(appended.length);
    expect(frames.map((frame) => frame.id)).toEqual(appended);
    expect(healthy.ended).toBe(false);
    expect(await metricValue(a.url, 'sse_connections')).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('ends every stream with a retry hint', async () => {
    const instance = await startInstance();
    await waitUntilReady(instance.url);
    const reader = await read(instance, someone('member'));
    await waitFor(() => reader.retries.length === 1, { what: 'the opening retry field' });
    await instance.stop();
    await reader.waitForEnd();
    expect(reader.retries).toEqual([3_000, expect.any(Number)]);
    expect(reader.retries[1]).toBeGreaterThanOrEqual(3_000);
    expect(reader.retries[1]).toBeLessThan(6_000);
    expect(reader.comments).toContain('server shutting down');
  });
});

describe('losing Redis', () => {
  it('ends streams when the live subscription drops, refuses new ones meanwhile, and resumes them after', async () => {
    const redisAddress = new URL(REDIS_URL);
    const proxy = await TcpProxy.create({ host: redisAddress.hostname, port: Number(redisAddress.port || 6379) });
    await proxy.start();
    const instance = await start(testConfig(topology, prefix, { REDIS_URL: proxy.urlFor(TEST_REDIS_URL) }));
    try {
      await waitUntilReady(instance.url);
      const member = someone('member');
      const reader = await read(instance, member);
      const seen = await append(a);
      await reader.waitForEvents(1);

      await proxy.stop();
      await reader.waitForEnd();
      expect(reader.comments).toContain('reconnect');
      expect(reader.retries).toHaveLength(2);
      expect(await metricValue(instance.url, 'sse_clients_dropped_total', { reason: 'live_feed_lost' })).toBe(1);
      const refused = await SseReader.open(`${instance.url}/api/events`, asHeaders(member));
      clients.push(refused);
      expect(refused.status).toBe(503);
      expect((await refused.json()).error.code).toBe('SERVICE_UNAVAILABLE');
      const missed = await append(a);

      await proxy.start();
      await waitUntilReady(instance.url);
      const resumed = await read(instance, member, { 'last-event-id': seen });
      const [replayed] = await resumed.waitForEvents(1);
      expect(replayed?.id).toBe(missed);
    } finally {
      await instance.stop();
      await proxy.stop();
    }
  });
});

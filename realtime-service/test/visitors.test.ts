import { randomUUID } from 'node:crypto';
import { closeRedis, createEvent, createRedis, redisReady, type Redis, type Topology } from '@board/service-kit';
import { type AnyEvent, type Identity } from '@board/service-kit/contracts';
import { silentLogger, sleep, testTopology, waitFor } from '@board/service-kit/testing';
import { viewFor } from '../src/domain/audience';
import { start, type RunningService } from '../src/service';
import { SseReader } from './support/sse-reader';
import { REDIS_URL, asHeaders, deleteKeys, messageData, publish, removeTopology, someone, testConfig, testPrefix, waitUntilReady } from './support/harness';

let topology: Topology;
let prefix: string;
let redis: Redis;
/** Two instances sharing one Redis, as replicas do. */
let instances: RunningService[];
const readers: SseReader[] = [];

const VISITORS_PER_ADDRESS = 2;

beforeAll(async () => {
  topology = testTopology();
  prefix = testPrefix();
  redis = createRedis(REDIS_URL, silentLogger(), 'visitors-test');
  await redisReady(redis);
  const config = testConfig(topology, prefix, {
    MAX_VISITOR_STREAMS_PER_ADDRESS: String(VISITORS_PER_ADDRESS),
    MAX_STREAMS_PER_ADDRESS: '4',
    HEARTBEAT_INTERVAL_MS: '1000',
  });
  instances = [await start(config), await start(config)];
  await Promise.all(instances.map((instance) => waitUntilReady(instance.url)));
});

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  await waitFor(async () => (await redis.keys(`${prefix}streams:*`)).length === 0, { what: 'every slot to be released' });
});

afterAll(async () => {
  for (const instance of instances) await instance.stop();
  await removeTopology(topology);
  await deleteKeys(redis, prefix);
  await closeRedis(redis);
});

/** A stream on instance `index`: a visitor's without `identity`; from `address` as the gateway forwards it. */
async function open(
  index: number,
  identity: Identity | undefined,
  { channels = 'general', address = '203.0.113.10', headers = {} as Record<string, string> } = {},
): Promise<SseReader> {
  const reader = await SseReader.open(`${instances[index]!.url}/api/events?channels=${channels}`, {
    ...(identity ? asHeaders(identity) : {}),
    'x-forwarded-for': address,
    ...headers,
  });
  readers.push(reader);
  return reader;
}

const parsed = (reader: SseReader, type?: string) => reader.events(type).map((frame) => ({ type: frame.event, data: JSON.parse(frame.data) as Record<string, unknown> }));

describe('a visitor stream (neither ticket nor identity)', () => {
  it('When messages are posted, edited, liked and deleted, Then a visitor gets each without any author, live and replayed', async () => {
    const visitor = await open(0, undefined);
    const member = await open(1, someone('member'));
    expect([visitor.status, member.status]).toEqual([200, 200]);
    const authorId = randomUUID();
    const created = messageData('general', authorId, 'for everyone');
    await publish(topology, 'message.created', created);
    await publish(topology, 'message.updated', { ...created, body: 'edited', editedAt: new Date().toISOString() });
    await publish(topology, 'message.likes_changed', { id: created.id, channel: 'general', likeCount: 3 });
    await publish(topology, 'message.deleted', { id: created.id, channel: 'general' });
    // Events no visitor is meant to see: about users.
    await publish(topology, 'user.updated', { id: authorId, username: 'writer', displayName: 'Writer' });
    await publish(topology, 'user.registered', { id: randomUUID(), email: 'x@example.com', username: 'x', displayName: 'X', role: 'user' });

    await member.waitForEvents(5);
    const seen = await visitor.waitForEvents(4);
    const { authorId: _author, ...anonymous } = created;
    expect(parsed(visitor)).toEqual([
      { type: 'message.created', data: anonymous },
      { type: 'message.updated', data: { ...anonymous, body: 'edited', editedAt: expect.any(String) } },
      { type: 'message.likes_changed', data: { id: created.id, channel: 'general', likeCount: 3 } },
      { type: 'message.deleted', data: { id: created.id, channel: 'general' } },
    ]);
    expect(JSON.stringify(visitor.frames)).not.toContain(authorId);
    // The member sees the author, and the user.updated a visitor does not.
    expect(parsed(member, 'message.created')[0]!.data.authorId).toBe(authorId);
    expect(parsed(member, 'user.updated')).toHaveLength(1);

    // Reconnecting with Last-Event-ID replays the same view.
    const replay = await open(1, undefined, { headers: { 'last-event-id': seen[0]!.id! } });
    await replay.waitForEvents(3);
    await sleep(200);
    expect(parsed(replay).map(({ type }) => type)).toEqual(['message.updated', 'message.likes_changed', 'message.deleted']);
    expect(JSON.stringify(replay.frames)).not.toContain(authorId);
  });

  it('When a like count changes, Then every stream of that channel gets it, whatever the role, and no other channel', async () => {
    const streams = [await open(0, undefined), await open(1, someone('user')), await open(0, someone('member')), await open(1, someone('admin'))];
    const elsewhere = await open(0, someone('admin'), { channels: 'random' });
    const change = { id: randomUUID(), channel: 'general', likeCount: 1 };
    await publish(topology, 'message.likes_changed', change);
    for (const stream of streams) {
      await stream.waitForEvents(1);
      expect(parsed(stream)).toEqual([{ type: 'message.likes_changed', data: change }]);
    }
    await sleep(200);
    expect(elsewhere.events()).toEqual([]);
  });

  it('When visitors at one address hold as many streams as allowed, Then one more is 429 while an account at that address still gets one', async () => {
    const address = '198.51.100.20';
    const first = await open(0, undefined, { address });
    expect(first.status).toBe(200);
    expect((await open(1, undefined, { address })).status).toBe(200);
    const refused = await open(0, undefined, { address });
    expect(refused.status).toBe(429);
    expect(refused.response.headers['retry-after']).toBe('5');
    const { error } = await refused.json();
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toContain('visitors at this address');
    // Another address's visitors, and an account at this one, are not held back by it.
    expect((await open(1, undefined, { address: '198.51.100.21' })).status).toBe(200);
    expect((await open(1, someone('member'), { address })).status).toBe(200);

    first.close();
    await waitFor(async () => {
      const again = await open(1, undefined, { address });
      if (again.status === 200) return true;
      again.close();
      return false;
    }, { what: 'a visitor slot freed by the close' });
  });

  it('When visitors and accounts at one address fill the address cap, Then a visitor is refused by the address cap too', async () => {
    const address = '198.51.100.30';
    for (let index = 0; index < 3; index += 1) expect((await open(index % 2, someone('user'), { address })).status).toBe(200);
    expect((await open(0, undefined, { address })).status).toBe(200);
    const refused = await open(1, undefined, { address });
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.message).toContain('this address');
  });
});

describe('who receives a like count', () => {
  const change: AnyEvent = createEvent('test', 'message.likes_changed', { id: randomUUID(), channel: 'general', likeCount: 2 });

  it('goes in full to every role and to visitors subscribed to the channel, to nobody else', () => {
    for (const role of ['user', 'member', 'admin'] as const) {
      expect(viewFor(change, { userId: randomUUID(), role, channels: ['general'] })).toBe('full');
      expect(viewFor(change, { userId: randomUUID(), role, channels: ['random'] })).toBeUndefined();
    }
    expect(viewFor(change, { userId: undefined, role: 'user', channels: ['general'] })).toBe('full');
  });
});

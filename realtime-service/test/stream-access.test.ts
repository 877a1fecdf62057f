import { RevocationList, closeRedis, createRedis, redisReady, type Redis, type Topology } from '@board/service-kit';
import { silentLogger, sleep, testTopology, waitFor } from '@board/service-kit/testing';
import request from 'supertest';
import { start, type RunningService } from '../src/service';
import { SseReader } from './support/sse-reader';
import {
  REDIS_URL,
  asHeaders,
  deleteKeys,
  removeTopology,
  someone,
  testConfig,
  testPrefix,
  waitUntilReady,
} from './support/harness';

const TICKET_TTL_MS = 400;

let topology: Topology;
let prefix: string;
let redis: Redis;
let service: RunningService;
const readers: SseReader[] = [];

beforeAll(async () => {
  topology = testTopology();
  prefix = testPrefix();
  redis = createRedis(REDIS_URL, silentLogger(), 'stream-access-test');
  await redisReady(redis);
  service = await start(testConfig(topology, prefix, { HEARTBEAT_INTERVAL_MS: '1000' }), { ticketTtlMs: TICKET_TTL_MS });
  await waitUntilReady(service.url);
});

afterEach(() => {
  for (const reader of readers.splice(0)) reader.close();
});

afterAll(async () => {
  await service.stop();
  await removeTopology(topology);
  await deleteKeys(redis, prefix);
  await closeRedis(redis);
});

/** Opens a stream and keeps the reader for closing after the test. */
async function openStream(query: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const reader = await SseReader.open(`${service.url}/api/events${query}`, headers);
  readers.push(reader);
  return reader;
}

async function issueTicket(identity = someone('member')): Promise<string> {
  const res = await request(service.url).post('/api/events/ticket').set(asHeaders(identity));
  expect(res.status).toBe(200);
  return res.body.ticket as string;
}

const expectError = async (reader: SseReader, status: number, code: string) => {
  expect(reader.status).toBe(status);
  expect(reader.response.headers['content-type']).toMatch(/^application\/json/);
  const body = await reader.json();
  expect(body.error).toEqual(expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }));
};

describe('stream tickets', () => {
  it('issues a ticket for the caller, stored in Redis with a time to live', async () => {
    const identity = someone('member');
    const res = await request(service.url).post('/api/events/ticket').set(asHeaders(identity));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresIn: 1 });
    expect(res.headers['cache-control']).toBe('no-store');
    const key = `${prefix}sse-ticket:${res.body.ticket}`;
    expect(JSON.parse((await redis.get(key)) ?? 'null')).toEqual(identity);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('refuses a ticket to a caller without identity', async () => {
    const res = await request(service.url).post('/api/events/ticket');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });

  it('opens a stream with a ticket once; the second use is 401 INVALID_TICKET', async () => {
    const ticket = await issueTicket();
    const first = await openStream(`?ticket=${ticket}`);
    expect(first.status).toBe(200);
    await expectError(await openStream(`?ticket=${ticket}`), 401, 'INVALID_TICKET');
  });

  it('answers an expired ticket with 401 INVALID_TICKET', async () => {
    const ticket = await issueTicket();
    await sleep(TICKET_TTL_MS + 200);
    await expectError(await openStream(`?ticket=${ticket}`), 401, 'INVALID_TICKET');
  });

  it('answers forged and malformed tickets with 401 INVALID_TICKET', async () => {
    const forged = Buffer.alloc(32, 7).toString('base64url');
    await expectError(await openStream(`?ticket=${forged}`), 401, 'INVALID_TICKET');
    await expectError(await openStream('?ticket=not-a-ticket'), 401, 'INVALID_TICKET');
  });
});

describe('opening a stream', () => {
  // Neither ticket nor identity is a visitor (visitors.test.ts); identity headers that make no identity are not.
  it('answers 401 to identity headers that do not make an identity', async () => {
    await expectError(await openStream('', { 'x-user-id': 'someone', 'x-user-role': 'admin' }), 401, 'UNAUTHORIZED');
    const { 'x-session-id': _session, ...withoutSession } = asHeaders(someone('admin'));
    await expectError(await openStream('', withoutSession), 401, 'UNAUTHORIZED');
  });

  it('accepts the identity the gateway forwards and answers as an EventSource expects', async () => {
    const reader = await openStream('?channels=general,random', asHeaders(someone('user')));
    expect(reader.status).toBe(200);
    expect(reader.response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(reader.response.headers['cache-control']).toBe('no-cache, no-transform');
    expect(reader.response.headers['x-accel-buffering']).toBe('no');
    await waitUntil(() => reader.retries.length > 0);
    expect(reader.retries[0]).toBe(3_000);
  });

  it('sends a heartbeat comment on idle streams every interval', async () => {
    const reader = await openStream('', asHeaders(someone('user')));
    await waitUntil(() => reader.comments.filter((comment) => comment === 'ping').length >= 2, 3_000);
    expect(reader.frames).toHaveLength(0);
  });

  it.each([
    ['an upper-case name', 'General'],
    ['an empty name', 'general,,random'],
    ['a name over 32 characters', 'a'.repeat(33)],
    ['more than 10 channels', Array.from({ length: 11 }, (_, index) => `c${index}`).join(',')],
    ['a name with spaces', 'general%20chat'],
    ['a list over 329 characters, however few its names', Array.from({ length: 42 }, () => 'general').join(',')],
  ])('answers %s in channels with 400 VALIDATION_FAILED', async (_case, channels) => {
    const reader = await openStream(`?channels=${channels}`, asHeaders(someone('member')));
    await expectError(reader, 400, 'VALIDATION_FAILED');
  });

  it('opens a stream on the longest list: 10 names of 32 characters', async () => {
    const channels = Array.from({ length: 10 }, (_, index) => `${index}`.padEnd(32, 'x')).join(',');
    expect(channels).toHaveLength(329);
    const reader = await openStream(`?channels=${channels}`, asHeaders(someone('member')));
    expect(reader.status).toBe(200);
  });

  it('does not spend a ticket on a request with bad channels', async () => {
    const ticket = await issueTicket();
    await expectError(await openStream(`?ticket=${ticket}&channels=BAD`), 400, 'VALIDATION_FAILED');
    expect((await openStream(`?ticket=${ticket}`)).status).toBe(200);
  });

  it('answers a repeated parameter with 400, not a crash', async () => {
    const reader = await openStream('?channels=general&channels=random', asHeaders(someone('member')));
    await expectError(reader, 400, 'VALIDATION_FAILED');
  });

  it('refuses a revoked session or user, with a ticket or gateway identity', async () => {
    const revocations = new RevocationList(redis, prefix);
    const revokedSession = someone('member');
    await revocations.revokeSessions([revokedSession.sessionId]);
    await expectError(await openStream('', asHeaders(revokedSession)), 401, 'SESSION_REVOKED');

    const revokedUser = someone('admin');
    const ticket = await issueTicket(revokedUser);
    await revocations.revokeUser(revokedUser.userId);
    await expectError(await openStream(`?ticket=${ticket}`), 401, 'SESSION_REVOKED');
  });

  it('counts open streams in the sse_connections gauge', async () => {
    const gauge = async () => Number(/^sse_connections\{[^}]*\} (\d+)$/m.exec(await (await fetch(`${service.url}/metrics`)).text())?.[1]);
    const before = await gauge();
    const reader = await openStream('', asHeaders(someone('user')));
    await waitUntil(async () => (await gauge()) === before + 1);
    reader.close();
    await waitUntil(async () => (await gauge()) === before);
  });
});

const waitUntil = (condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) => waitFor(condition, { timeoutMs });

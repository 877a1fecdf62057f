import { randomUUID } from 'node:crypto';
import { RevocationList, closeRedis, createEvent, createRedis, redisReady, type Redis } from '@board/service-kit';
import type { AnyEvent, Identity } from '@board/service-kit/contracts';
import { TEST_REDIS_URL, TestWorld, silentLogger, sleep, waitFor } from '@board/service-kit/testing';
import request from 'supertest';
import { start, type RunningService } from '../src/service';
import { asHeaders, messageData, someone, testConfig, waitUntilReady } from './support/harness';
import { SseReader } from './support/sse-reader';

/*
 * A browser's own EventSource reconnect repeats the stream URL (its ticket spent) with
 * Last-Event-ID, and can add nothing else: the resume pass in its cookie must open the stream.
 */
const LEASE_MS = 900;

let world: TestWorld;
let prefix: string;
let redis: Redis;
let service: RunningService;
const readers: SseReader[] = [];

beforeAll(async () => {
  world = await TestWorld.create();
  prefix = world.redisPrefix;
  redis = createRedis(TEST_REDIS_URL, silentLogger(), 'resume-pass-test');
  world.onCleanUp(() => closeRedis(redis));
  await redisReady(redis);
  service = world.track(await start(testConfig(world, { HEARTBEAT_INTERVAL_MS: '1000' }), { resumeLeaseMs: LEASE_MS }));
  await waitUntilReady(service.url);
});

afterEach(() => {
  for (const reader of readers.splice(0)) reader.close();
});

afterAll(() => world.cleanUp());

async function open(query: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const reader = await SseReader.open(`${service.url}/api/events${query}`, headers);
  readers.push(reader);
  return reader;
}

async function ticketFor(identity: Identity): Promise<string> {
  const res = await request(service.url).post('/api/events/ticket').set(asHeaders(identity));
  return res.body.ticket as string;
}

/** The pass the stream was given, from its Set-Cookie, with the cookie's attributes checked. */
function passOf(reader: SseReader): string {
  const cookies = reader.response.headers['set-cookie'] ?? [];
  expect(cookies).toHaveLength(1);
  const match = /^sse_resume=([A-Za-z0-9_-]{43}); Path=\/api\/events; HttpOnly; Secure; SameSite=Strict$/.exec(cookies[0] ?? '');
  expect(match).not.toBeNull();
  return match?.[1] ?? '';
}

const message = (): AnyEvent => createEvent('test-producer', 'message.created', messageData('general', randomUUID()));

async function append(): Promise<string> {
  const id = await service.eventLog.append(message());
  if (id === null) throw new Error('appended before');
  return id;
}

describe('resume passes', () => {
  it("opens the browser's reconnect (spent ticket, Last-Event-ID, the cookie) and replays what it missed", async () => {
    const identity = someone('member');
    const ticket = await ticketFor(identity);
    const first = await open(`?ticket=${ticket}`);
    expect(first.status).toBe(200);
    const pass = passOf(first);
    expect(JSON.parse((await redis.get(`${prefix}sse-resume:${pass}`)) ?? 'null')).toEqual(identity);
    const seen = await append();
    await first.waitForEvents(1);
    first.close();
    const missed = await append();

    const again = await open(`?ticket=${ticket}`, { cookie: `other=1; sse_resume=${pass}`, 'last-event-id': seen });
    expect(again.status).toBe(200);
    const next = passOf(again);
    expect(next).not.toBe(pass);
    const replayed = await again.waitForEvents(1);
    expect(replayed.map((frame) => frame.id)).toEqual([missed]);
  });

  it('is good for one reconnect: the same cookie again is 401 INVALID_TICKET', async () => {
    const ticket = await ticketFor(someone('user'));
    const first = await open(`?ticket=${ticket}`);
    const pass = passOf(first);
    first.close();
    expect((await open(`?ticket=${ticket}`, { cookie: `sse_resume=${pass}` })).status).toBe(200);
    const reused = await open(`?ticket=${ticket}`, { cookie: `sse_resume=${pass}` });
    expect(reused.status).toBe(401);
    expect((await reused.json()).error.code).toBe('INVALID_TICKET');
  });

  it('without a pass, a spent ticket stays 401 INVALID_TICKET, and a made-up pass changes nothing', async () => {
    const ticket = await ticketFor(someone('member'));
    (await open(`?ticket=${ticket}`)).close();
    for (const cookie of [undefined, `sse_resume=${'A'.repeat(43)}`, 'sse_resume=../../x']) {
      const reader = await open(`?ticket=${ticket}`, cookie ? { cookie } : {});
      expect(reader.status).toBe(401);
      expect((await reader.json()).error.code).toBe('INVALID_TICKET');
    }
  });

  it('honours a revocation: the pass of a revoked session opens nothing', async () => {
    const identity = someone('member');
    const ticket = await ticketFor(identity);
    const first = await open(`?ticket=${ticket}`);
    const pass = passOf(first);
    await new RevocationList(redis, prefix).revokeSessions([identity.sessionId]);
    await first.waitForEnd();
    const again = await open(`?ticket=${ticket}`, { cookie: `sse_resume=${pass}` });
    expect(again.status).toBe(401);
    expect((await again.json()).error.code).toBe('SESSION_REVOKED');
  });

  it('holds a pass to the current role', async () => {
    const identity = someone('admin');
    const ticket = await ticketFor(identity);
    const first = await open(`?ticket=${ticket}`);
    const pass = passOf(first);
    first.close();
    await new RevocationList(redis, prefix).recordRole({ userId: identity.userId, role: 'user', version: 1 });
    const again = await open(`?ticket=${ticket}`, { cookie: `sse_resume=${pass}` });
    expect(again.status).toBe(200);
    expect(JSON.parse((await redis.get(`${prefix}sse-resume:${passOf(again)}`)) ?? 'null')).toEqual({ ...identity, role: 'user' });
  });

  it('lives while its stream is open, and lapses within one lease after it closes', async () => {
    const ticket = await ticketFor(someone('member'));
    const reader = await open(`?ticket=${ticket}`);
    const key = `${prefix}sse-resume:${passOf(reader)}`;
    await sleep(LEASE_MS * 2);
    expect(await redis.exists(key)).toBe(1);
    reader.close();
    await waitFor(async () => (await redis.exists(key)) === 0, { timeoutMs: LEASE_MS * 3, what: 'the pass to lapse' });
  });

  it('gives no pass to a stream opened with the gateway identity (that client can send its token again), nor to a visitor', async () => {
    for (const headers of [asHeaders(someone('member')), {}]) {
      const reader = await open('', headers);
      expect(reader.status).toBe(200);
      expect(reader.response.headers['set-cookie']).toBeUndefined();
    }
  });

  it('opens a stream without a ticket as the holder of a good pass, not as a visitor', async () => {
    const identity = someone('member');
    const first = await open(`?ticket=${await ticketFor(identity)}`);
    const pass = passOf(first);
    first.close();
    const again = await open('', { cookie: `sse_resume=${pass}` });
    expect(again.status).toBe(200);
    expect(JSON.parse((await redis.get(`${prefix}sse-resume:${passOf(again)}`)) ?? 'null')).toEqual(identity);
  });
});

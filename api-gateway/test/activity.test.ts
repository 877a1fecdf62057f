import { randomUUID } from 'node:crypto';
import http from 'node:http';
import request from 'supertest';
import { ActivityMarks, Redis } from '@board/service-kit';
import { TEST_REDIS_URL, sleep, waitFor, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { killAll, startFakeUpstreams, upstreamEnv, type FakeUpstreams } from './support/upstream';
import { createGatewayWorld, metricValue, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';
const QUEUE = 'activity:queue';

const issuer = new TokenIssuer();
let world: TestWorld;
let prefix: string;
let upstreams: FakeUpstreams;
/** Two replicas sharing one Redis prefix, as in production. */
let gateways: RunningService[];
let redis: Redis;

const get = (gateway: RunningService, token?: string) => {
  const req = request(gateway.url).get('/api/users/me');
  return token ? req.set('Authorization', `Bearer ${token}`) : req;
};

const queued = async (keyPrefix = prefix) => {
  const flat = await redis.zrange(`${keyPrefix}${QUEUE}`, 0, -1, 'WITHSCORES');
  const marks = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) marks.set(flat[i]!, Number(flat[i + 1]));
  return marks;
};

beforeAll(async () => {
  upstreams = await startFakeUpstreams();
  upstreams.auth.respondWith((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === JWKS_PATH ? issuer.jwks() : {}));
  });
  world = await createGatewayWorld();
  prefix = world.redisPrefix;
  const env = upstreamEnv(upstreams);
  gateways = await Promise.all([startGateway(world, env), startGateway(world, env)]);
  redis = world.redis;
});

afterAll(async () => {
  await world.cleanUp();
  await killAll(upstreams);
});

describe('activity marks', () => {
  it('Given 200 requests of one user on two replicas within a minute, Then Redis queues the user once, at the first request\'s time', async () => {
    const claims = issuer.claims({ role: 'member' });
    const token = issuer.sign(claims);
    const before = Date.now();
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, index) => get(gateways[index % 2]!, token).then((res) => res.status)));
    expect(statuses.every((status) => status === 200)).toBe(true);
    await waitFor(async () => ((await queued()).has(claims.sub) ? true : undefined), { what: 'the mark' });
    const marks = await queued();
    expect([...marks.keys()]).toEqual([claims.sub]);
    expect(marks.get(claims.sub)).toBeGreaterThanOrEqual(before);
    expect(marks.get(claims.sub)).toBeLessThanOrEqual(Date.now());
    const ttl = await redis.ttl(`${prefix}activity:window:${claims.sub}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);

    // Taken by user-service (here: by hand) within the window, the user is not queued again.
    await new ActivityMarks(redis, prefix).take(100);
    for (let index = 0; index < 20; index += 1) expect((await get(gateways[index % 2]!, token)).status).toBe(200);
    expect((await queued()).size).toBe(0);
  });

  it('queues each signed-in user once, and nobody for requests without a (valid) token', async () => {
    const users = Array.from({ length: 5 }, () => issuer.claims({ role: 'user' }));
    for (const claims of users) {
      const token = issuer.sign(claims);
      for (let index = 0; index < 10; index += 1) expect((await get(gateways[index % 2]!, token)).status).toBe(200);
    }
    expect((await request(gateways[0]!.url).get(JWKS_PATH)).status).toBe(200);
    expect((await get(gateways[0]!, issuer.forgeries()['alg none'])).status).toBe(401);
    expect((await get(gateways[0]!)).status).toBe(401);
    await waitFor(async () => ((await queued()).size >= users.length ? true : undefined), { what: 'five marks' });
    expect([...(await queued()).keys()].sort()).toEqual(users.map((claims) => claims.sub).sort());
  });

  it('marks nothing with ACTIVITY_MARKING=false', async () => {
    const own = await createGatewayWorld();
    const ownPrefix = own.redisPrefix;
    const quiet = await startGateway(own, { ACTIVITY_MARKING: 'false', ...upstreamEnv(upstreams) });
    try {
      expect((await get(quiet, issuer.sign(issuer.claims()))).status).toBe(200);
      await sleep(300); // a mark, sent without waiting, would be in Redis by now
      expect((await redis.keys(`${ownPrefix}activity:*`)).length).toBe(0);
    } finally {
      await own.cleanUp();
    }
  });
});

describe('activity marks while Redis is away', () => {
  it('serves every request, counts the lost marks, and marks again once Redis is back', async () => {
    const own = await createGatewayWorld();
    const ownPrefix = own.redisPrefix;
    const proxy = await own.proxy(TEST_REDIS_URL);
    const gateway = await startGateway(own, { REDIS_URL: proxy.urlFor(TEST_REDIS_URL), ...upstreamEnv(upstreams) });
    try {
      await proxy.stop();
      await waitFor(async () => (await request(gateway.url).get('/health/ready')).status === 503, { what: 'the gateway to see Redis gone' });
      const users = Array.from({ length: 3 }, () => issuer.claims());
      for (const claims of users) {
        const token = issuer.sign(claims);
        for (let index = 0; index < 5; index += 1) expect((await get(gateway, token)).status).toBe(200);
      }
      const failures = async () =>
        metricValue((await request(gateway.url).get('/metrics')).text, 'gateway_redis_failures_total', 'use="activity"') ?? 0;
      // One attempt per user and window, not one per request.
      await waitFor(async () => ((await failures()) >= users.length ? true : undefined), { what: 'the failed marks to be counted' });
      expect(await failures()).toBe(users.length);

      await proxy.start();
      await waitFor(async () => (await request(gateway.url).get('/health/ready')).status === 200, { what: 'Redis back' });
      const later = issuer.claims();
      expect((await get(gateway, issuer.sign(later))).status).toBe(200);
      await waitFor(async () => ((await queued(ownPrefix)).has(later.sub) ? true : undefined), { what: 'a mark after the outage' });
    } finally {
      await own.cleanUp();
    }
  });
});

describe('body limits', () => {
  const avatarUpload = (gateway: RunningService, body: Buffer, path = '/api/users/me/avatar') =>
    request(gateway.url).put(path).set('Authorization', `Bearer ${issuer.sign(issuer.claims())}`).set('Content-Type', 'image/png').send(body);

  it('forwards an avatar upload of up to 2 MiB, byte for byte, though BODY_LIMIT_BYTES is 1 MiB', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const res = await avatarUpload(gateways[0]!, body);
    expect(res.status).toBe(200);
    const forwarded = upstreams.users.last();
    expect(forwarded.method).toBe('PUT');
    expect(forwarded.body.equals(body)).toBe(true);
  });

  it('is 413 for an avatar upload over 2 MiB and for any other route over 1 MiB, before the upstream hears of it', async () => {
    const seen = upstreams.users.proxied.length;
    const over = await avatarUpload(gateways[0]!, Buffer.alloc(2 * 1024 * 1024 + 1));
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const elsewhere = await request(gateways[0]!.url)
      .patch('/api/users/me')
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims())}`)
      .set('Content-Type', 'application/json')
      .send(Buffer.alloc(1024 * 1024 + 1, 32));
    expect(elsewhere.status).toBe(413);
    expect(upstreams.users.proxied.length).toBe(seen);
  });

  it('counts a chunked avatar upload against the same 2 MiB', async () => {
    const chunked = (size: number) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL('/api/users/me/avatar', gateways[1]!.url);
        const req = http.request(url, {
          method: 'PUT',
          headers: { authorization: `Bearer ${issuer.sign(issuer.claims())}`, 'content-type': 'image/png', 'transfer-encoding': 'chunked' },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        const piece = Buffer.alloc(64 * 1024);
        for (let sent = 0; sent < size; sent += piece.length) req.write(piece.subarray(0, Math.min(piece.length, size - sent)));
        req.end();
      });
    expect(await chunked(1_500_000)).toBe(200);
    expect(await chunked(2 * 1024 * 1024 + 64 * 1024)).toBe(413);
  });

  it('holds a route that only resembles the upload route to the general limit', async () => {
    const res = await avatarUpload(gateways[0]!, Buffer.alloc(1024 * 1024 + 1), `/api/users/${randomUUID()}/avatar`);
    expect(res.status).toBe(413);
  });
});

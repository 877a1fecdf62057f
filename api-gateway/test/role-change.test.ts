import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RevocationList, type Redis } from '@board/service-kit';
import { waitFor, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { killAll, startFakeUpstreams, upstreamEnv, type FakeUpstreams } from './support/upstream';
import { createGatewayWorld, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';
const issuer = new TokenIssuer();
let world: TestWorld;
let prefix: string;
let upstreams: FakeUpstreams;
let gateway: RunningService;
let redis: Redis;
let list: RevocationList;

beforeAll(async () => {
  world = await createGatewayWorld();
  prefix = world.redisPrefix;
  upstreams = await startFakeUpstreams();
  world.onCleanUp(() => killAll(upstreams));
  upstreams.auth.respondWith((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === JWKS_PATH ? JSON.stringify(issuer.jwks()) : '{}');
  });
  gateway = await startGateway(world, { ...upstreamEnv(upstreams) });
  redis = world.redis;
  list = new RevocationList(redis, prefix);
});

afterAll(() => world.cleanUp());

const forwardedRole = async (token: string) => {
  const res = await request(gateway.url).get('/api/users').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(200);
  return upstreams.users.last().headers['x-user-role'];
};

describe('a token issued before its user was demoted', () => {
  it('When an admin is demoted, Then their unexpired admin token is forwarded with the new role at once', async () => {
    const userId = randomUUID();
    const token = issuer.sign(issuer.claims({ sub: userId, role: 'admin' }));
    expect(await forwardedRole(token)).toBe('admin');

    await list.recordRole({ userId, role: 'user', version: 2 });
    await waitFor(async () => (await forwardedRole(token)) === 'user', { what: 'the demotion to reach the gateway', timeoutMs: 2_000 });
    // Other users' tokens are not touched.
    expect(await forwardedRole(issuer.sign(issuer.claims({ role: 'admin' })))).toBe('admin');
  });

  it('When a user is promoted, Then an old token keeps its lower role until it is refreshed', async () => {
    const userId = randomUUID();
    await list.recordRole({ userId, role: 'admin', version: 2 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await forwardedRole(issuer.sign(issuer.claims({ sub: userId, role: 'member' })))).toBe('member');
    expect(await forwardedRole(issuer.sign(issuer.claims({ sub: userId, role: 'admin' })))).toBe('admin');
  });

  it('When the gateway starts after the demotion, Then it learns the role from Redis', async () => {
    const userId = randomUUID();
    await list.recordRole({ userId, role: 'member', version: 2 });
    const fresh = await startGateway(world, { ...upstreamEnv(upstreams) });
    try {
      const res = await request(fresh.url).get('/api/users').set('Authorization', `Bearer ${issuer.sign(issuer.claims({ sub: userId, role: 'admin' }))}`);
      expect(res.status).toBe(200);
      expect(upstreams.users.last().headers['x-user-role']).toBe('member');
    } finally {
      await fresh.stop();
    }
  });
});

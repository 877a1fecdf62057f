import request from 'supertest';
import { TEST_REDIS_URL, TcpProxy, waitFor } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { createAuthWorld, asGateway, registerAndLogin, type AuthWorld } from './support';

let world: AuthWorld;
let redisProxy: TcpProxy;
let service: RunningService;

beforeAll(async () => {
  world = await createAuthWorld('auth_revocation_durability');
  redisProxy = await world.proxy(TEST_REDIS_URL);
  // auth-service reaches Redis only through the proxy; the test's own client goes straight.
  service = await world.start({ REDIS_URL: redisProxy.urlFor(TEST_REDIS_URL) });
});

afterAll(() => world.cleanUp());

const revokedInRedis = async (sessionId: string) => (await world.redis.exists(`${world.redisPrefix}revoked:session:${sessionId}`)) === 1;

describe('a revocation made while Redis is unreachable', () => {
  it('When a user logs out and everywhere during a Redis outage, Then the sessions reach the revocation list once Redis is back', async () => {
    const laptop = await registerAndLogin(service.url);
    const phone = await registerAndLogin(service.url);
    await redisProxy.stop();
    try {
      expect((await request(service.url).post('/api/auth/logout').set(asGateway(laptop))).status).toBe(204);
      expect((await request(service.url).post('/api/auth/logout-all').set(asGateway(phone))).status).toBe(204);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await revokedInRedis(laptop.identity.sessionId)).toBe(false);
    } finally {
      await redisProxy.start();
    }
    await waitFor(async () => (await revokedInRedis(laptop.identity.sessionId)) && (await revokedInRedis(phone.identity.sessionId)), {
      what: 'the revocations to reach Redis after the outage',
      timeoutMs: 20_000,
    });
  });
});

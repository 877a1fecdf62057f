import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { sleep, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { FakeUpstream } from './support/upstream';
import { createGatewayWorld, startGateway } from './support/gateway';

const issuer = new TokenIssuer();
let world: TestWorld;
let auth: FakeUpstream;
let users: FakeUpstream;
let gateway: RunningService;

beforeAll(async () => {
  world = await createGatewayWorld();
  auth = await FakeUpstream.start('auth');
  auth.respondWith((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(issuer.jwks()));
  });
  users = await FakeUpstream.start('user');
  gateway = await startGateway(world, {
    AUTH_SERVICE_URL: auth.url,
    USER_SERVICE_URL: users.url,
    // One refetch a minute for unknown kids, and the whole JWKS read every 200 ms.
    JWKS_REQUESTS_PER_MINUTE: '1',
    JWKS_REFRESH_INTERVAL_MS: '200',
  });
});

afterAll(async () => {
  await world.cleanUp();
  await auth.kill();
  await users.kill();
});

const get = (token: string) => request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${token}`);

describe('a key rotation while made-up kids have spent the refetch budget', () => {
  it('When the auth-service publishes a new key, Then tokens signed with it are accepted once the JWKS is read again', async () => {
    expect((await get(issuer.sign())).status).toBe(200);
    // Tokens naming kids nobody published use up the unknown-kid refetches.
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await get(issuer.sign(issuer.claims(), {}, randomUUID()))).status).toBe(401);

    const rotated = issuer.rotate();
    await sleep(500);
    expect((await get(issuer.sign(issuer.claims(), {}, rotated))).status).toBe(200);
  });
});

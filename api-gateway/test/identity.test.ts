import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RevocationList, type Redis } from '@board/service-kit';
import { expectErrorResponse, freePort, sleep, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { FakeUpstream, killAll, startFakeUpstreams, upstreamEnv, type FakeUpstreams } from './support/upstream';
import { createGatewayWorld, metricValue, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';

const issuer = new TokenIssuer();
let world: TestWorld;
let prefix: string;
let upstreams: FakeUpstreams;
let auth: FakeUpstream;
let messages: FakeUpstream;
let realtime: FakeUpstream;
let gateway: RunningService;
let redis: Redis;

const jwksFetches = () => auth.requests.filter((recorded) => recorded.url === JWKS_PATH).length;


beforeAll(async () => {
  world = await createGatewayWorld();
  prefix = world.redisPrefix;
  upstreams = await startFakeUpstreams();
  world.onCleanUp(() => killAll(upstreams));
  ({ auth, messages, realtime } = upstreams);
  auth.respondWith((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === JWKS_PATH ? issuer.jwks() : { upstream: 'auth' }));
  });
  gateway = await startGateway(world, {
    ...upstreamEnv(upstreams),
  });
  redis = world.redis;
});

afterAll(() => world.cleanUp());

describe('identity', () => {
  it('forwards the verified identity, not the token, and drops every identity header the client made up', async () => {
    const claims = issuer.claims({ role: 'member' });
    const res = await request(gateway.url)
      .get('/api/messages?channel=general')
      .set('Authorization', `Bearer ${issuer.sign(claims)}`)
      .set('X-User-Id', randomUUID())
      .set('X-User-Role', 'admin')
      .set('X-Session-Id', randomUUID())
      .set('X-User-Anything', 'sneaky');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ upstream: 'message', path: '/api/messages?channel=general' });
    const { headers } = messages.last();
    expect(headers['x-user-id']).toBe(claims.sub);
    expect(headers['x-user-role']).toBe('member');
    expect(headers['x-session-id']).toBe(claims.sid);
    expect(headers['x-user-anything']).toBeUndefined();
    // The token itself stays at the gateway.
    expect(headers.authorization).toBeUndefined();
  });

  it('refuses every kind of forged or unusable token before it reaches an upstream', async () => {
    const forgeries = issuer.forgeries();
    const before = messages.proxied.length;
    const outcomes: Record<string, string> = {};
    for (const [kind, token] of Object.entries(forgeries)) {
      const res = await request(gateway.url).get('/api/messages').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expectErrorResponse(res, 401, res.body.error.code);
      outcomes[kind] = res.body.error.code;
    }
    expect(outcomes).toEqual(
      Object.fromEntries(Object.keys(forgeries).map((kind) => [kind, kind === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN'])),
    );
    expect(messages.proxied.length).toBe(before);
    const metrics = (await request(gateway.url).get('/metrics')).text;
    expect(metricValue(metrics, 'gateway_auth_rejections_total', 'code="INVALID_TOKEN"')).toBe(Object.keys(forgeries).length - 1);
  });

  it('refuses a token in another algorithm on its header alone, without fetching keys for the kid it names', async () => {
    const fetched = jwksFetches();
    for (const [kind, token] of Object.entries(issuer.wrongAlgorithmUnknownKid())) {
      const res = await request(gateway.url).get('/api/messages').set('Authorization', `Bearer ${token}`);
      expect({ kind, status: res.status, code: res.body.error?.code }).toEqual({ kind, status: 401, code: 'INVALID_TOKEN' });
    }
    expect(jwksFetches()).toBe(fetched);
  });

  it('requires a Bearer token on protected routes', async () => {
    const missing = await request(gateway.url).post('/api/messages').send({ body: 'hi' });
    expectErrorResponse(missing, 401, 'UNAUTHORIZED');
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expectErrorResponse(await request(gateway.url).get('/api/users/me').set('Authorization', 'Basic dXNlcjpwdw=='), 401, 'INVALID_TOKEN');
    expectErrorResponse(await request(gateway.url).get('/api/users/me').set('Authorization', 'Bearer'), 401, 'INVALID_TOKEN');
  });

  it('lets public routes through without a token, still without client-made identity headers', async () => {
    const login = await request(gateway.url)
      .post('/api/auth/login')
      .set('X-User-Role', 'admin')
      .send({ email: 'a@example.com', password: 'pw' });
    expect(login.status).toBe(200);
    expect(auth.last().headers['x-user-role']).toBeUndefined();
    expect((await request(gateway.url).get(JWKS_PATH)).body).toEqual(issuer.jwks());
    expect((await request(gateway.url).get('/api/events?ticket=abc&channels=general')).status).toBe(200);
    expect(realtime.last().headers['x-user-id']).toBeUndefined();
    expectErrorResponse(await request(gateway.url).post('/api/events/ticket'), 401, 'UNAUTHORIZED');
  });

  it('still verifies a token sent to a public route', async () => {
    const refused = await request(gateway.url).post('/api/auth/logout').set('Authorization', `Bearer ${issuer.forgeries()['alg none']}`);
    expectErrorResponse(refused, 401, 'INVALID_TOKEN');
    const claims = issuer.claims();
    const accepted = await request(gateway.url).post('/api/auth/logout').set('Authorization', `Bearer ${issuer.sign(claims)}`);
    expect(accepted.status).toBe(200);
    expect(auth.last().headers['x-session-id']).toBe(claims.sid);
  });

  it('refuses a revoked session and a revoked user on their very next request', async () => {
    const revocations = new RevocationList(redis, prefix);
    const session = issuer.claims();
    const sessionToken = issuer.sign(session);
    expect((await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${sessionToken}`)).status).toBe(200);
    await revocations.revokeSessions([session.sid]);
    expectErrorResponse(await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${sessionToken}`), 401, 'SESSION_REVOKED');

    const user = issuer.claims();
    const userToken = issuer.sign(user);
    expect((await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${userToken}`)).status).toBe(200);
    await revocations.revokeUser(user.sub);
    expectErrorResponse(await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${userToken}`), 401, 'SESSION_REVOKED');
    // Another session of someone else is untouched.
    expect((await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${issuer.sign()}`)).status).toBe(200);
  });

  it('refuses a token once it expires, even though it was verified (and remembered) before', async () => {
    const token = issuer.sign(issuer.claims(), { expiresIn: 1 });
    expect((await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    await sleep(7_000 - (Date.now() % 1000)); // past exp plus the 5 s clock tolerance
    expectErrorResponse(await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${token}`), 401, 'TOKEN_EXPIRED');
  }, 15_000);

  it('keeps fetched keys, and fetches again for a kid it has not seen (key rotation)', async () => {
    await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${issuer.sign()}`);
    const fetched = jwksFetches();
    for (let index = 0; index < 5; index += 1) {
      expect((await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${issuer.sign()}`)).status).toBe(200);
    }
    expect(jwksFetches()).toBe(fetched);
    const rotated = issuer.rotate();
    const res = await request(gateway.url).get('/api/users/me').set('Authorization', `Bearer ${issuer.sign(issuer.claims(), {}, rotated)}`);
    expect(res.status).toBe(200);
    expect(jwksFetches()).toBe(fetched + 1);
  });

  it('propagates the request id and tells the upstream who the client really is', async () => {
    const res = await request(gateway.url)
      .get('/api/messages')
      .set('Authorization', `Bearer ${issuer.sign()}`)
      .set('X-Request-Id', 'trace-42')
      // nginx (the one trusted hop) appended the real client to whatever the client claimed.
      .set('X-Forwarded-For', '203.0.113.9, 198.51.100.7')
      .set('X-Forwarded-Proto', 'https')
      .set('X-Forwarded-Host', 'board.example.com');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('trace-42');
    const { headers } = messages.last();
    expect(headers['x-request-id']).toBe('trace-42');
    expect(headers['x-forwarded-for']).toBe('198.51.100.7');
    expect(headers['x-forwarded-proto']).toBe('https');
    expect(headers['x-forwarded-host']).toBe('board.example.com');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers 404 in the error shape outside its routes', async () => {
    expectErrorResponse(await request(gateway.url).get('/admin'), 404, 'NOT_FOUND');
    expectErrorResponse(await request(gateway.url).get('/api/unknown'), 404, 'NOT_FOUND');
    expectErrorResponse(await request(gateway.url).get('/api/eventsource'), 404, 'NOT_FOUND');
    expectErrorResponse(await request(gateway.url).post('/api/health'), 404, 'NOT_FOUND');
  });
});

describe('when the signing keys cannot be fetched', () => {
  it('keeps verifying with the keys it has seen, past their cache age', async () => {
    const ownAuth = await FakeUpstream.start('auth');
    ownAuth.respondWith((_req, res) => res.end(JSON.stringify(issuer.jwks())));
    const gatewayWithShortCache = await startGateway(world, {
      AUTH_SERVICE_URL: ownAuth.url,
      MESSAGE_SERVICE_URL: messages.url,
      JWKS_CACHE_MAX_AGE_MS: '50',
    });
    try {
      expect((await request(gatewayWithShortCache.url).get('/api/messages').set('Authorization', `Bearer ${issuer.sign()}`)).status).toBe(200);
      await ownAuth.kill();
      await sleep(100);
      expect((await request(gatewayWithShortCache.url).get('/api/messages').set('Authorization', `Bearer ${issuer.sign()}`)).status).toBe(200);
      const rotated = issuer.rotate();
      const unseen = await request(gatewayWithShortCache.url)
        .get('/api/messages')
        .set('Authorization', `Bearer ${issuer.sign(issuer.claims(), {}, rotated)}`);
      expectErrorResponse(unseen, 503, 'SERVICE_UNAVAILABLE');
    } finally {
      await gatewayWithShortCache.stop();
    }
  });

  it('answers 503, not 401: the token may well be valid', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const blind = await startGateway(world, { AUTH_SERVICE_URL: nowhere, MESSAGE_SERVICE_URL: messages.url });
    try {
      const res = await request(blind.url).get('/api/messages').set('Authorization', `Bearer ${issuer.sign()}`);
      expectErrorResponse(res, 503, 'SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await blind.stop();
    }
  });
});

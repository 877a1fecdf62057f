import request from 'supertest';
import { RevocationList, type Redis } from '@board/service-kit';
import { TEST_REDIS_URL, TcpProxy, captureLogger, waitFor, type CapturedLogger, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { FakeUpstream } from './support/upstream';
import { createGatewayWorld, metricValue, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';
const PER_CLIENT_MAX = 3;
const CREDENTIALS_MAX = 2;

const issuer = new TokenIssuer();
let world: TestWorld;
let prefix: string;
let redisProxy: TcpProxy;
let redis: Redis;
let auth: FakeUpstream;
let messages: FakeUpstream;
let gateway: RunningService;
let captured: CapturedLogger;
/** A session revoked while the gateway could not reach Redis. */
let revokedDuringToken: string;

/**
 * The gateway's revocation notices travel through this test's TCP proxy, in this process, so one
 * may trail the request that follows the revocation by a moment here. Straight from Redis, a
 * notice reaches the gateway before the revoking call even returns (identity.test.ts shows the
 * very next request refused).
 */
const refusedSoon = (token: string) =>
  waitFor(
    async () => {
      // Each attempt from another address, so that the per-client limit (a few requests) stays out of the way.
      pollingClient += 1;
      const res = await request(gateway.url)
        .get('/api/messages')
        .set('Authorization', `Bearer ${token}`)
        .set('X-Forwarded-For', `198.51.100.${pollingClient}`);
      return res.status === 401;
    },
    { what: 'the revocation to be heard', timeoutMs: 2_000, intervalMs: 50 },
  );
let pollingClient = 0;

const mirrorSynced = async () =>
  metricValue((await request(gateway.url).get('/metrics')).text, 'gateway_revocation_mirror_synced', '');

beforeAll(async () => {
  world = await createGatewayWorld();
  prefix = world.redisPrefix;
  redisProxy = await world.proxy(TEST_REDIS_URL);
  redis = world.redis;
  [auth, messages] = await Promise.all([FakeUpstream.start('auth'), FakeUpstream.start('message')]);
  world.onCleanUp(() => Promise.all([auth, messages].map((upstream) => upstream.kill())));
  auth.respondWith((req, res) => res.end(req.url === JWKS_PATH ? JSON.stringify(issuer.jwks()) : '{}'));
  captured = captureLogger('api-gateway', 'info');
  gateway = await startGateway(
    world,
    {
      REDIS_URL: redisProxy.urlFor(TEST_REDIS_URL),
      AUTH_SERVICE_URL: auth.url,
      MESSAGE_SERVICE_URL: messages.url,
      RATE_LIMIT_MAX: String(PER_CLIENT_MAX),
      AUTH_RATE_LIMIT_MAX: String(CREDENTIALS_MAX),
    },
    { logger: captured.logger },
  );
});

afterAll(() => world.cleanUp());

describe('while Redis is unreachable', () => {
  it('keeps serving: unknown revocations and the per-client limit fail open, login limits count in memory', async () => {
    // Until its first sync the gateway knows nothing in memory; revoke once it listens.
    await waitFor(async () => (await mirrorSynced()) === 1, { what: 'the revocation mirror to sync' });
    const revokedBefore = issuer.claims();
    const revokedBeforeToken = issuer.sign(revokedBefore);
    await new RevocationList(redis, prefix).revokeSessions([revokedBefore.sid]);
    await refusedSoon(revokedBeforeToken);

    await redisProxy.stop();
    expect((await request(gateway.url).get('/health/ready')).status).toBe(503);
    await waitFor(async () => (await mirrorSynced()) === 0, { what: 'the revocation mirror to notice the outage' });

    // What the gateway knew before the outage it still knows.
    const stillRefused = await request(gateway.url).get('/api/messages').set('Authorization', `Bearer ${revokedBeforeToken}`);
    expect(stillRefused.body.error.code).toBe('SESSION_REVOKED');
    // A revocation it cannot hear of (its Redis connections are cut, not Redis itself) fails open:
    // a verified token is accepted, and the per-client limit does not apply.
    const revokedDuring = issuer.claims();
    await new RevocationList(redis, prefix).revokeSessions([revokedDuring.sid]);
    revokedDuringToken = issuer.sign(revokedDuring);
    for (let attempt = 0; attempt < PER_CLIENT_MAX + 2; attempt += 1) {
      const res = await request(gateway.url)
        .get('/api/messages')
        .set('Authorization', `Bearer ${revokedDuringToken}`)
        .set('X-Forwarded-For', '192.0.2.1');
      expect(res.status).toBe(200);
    }
    // Forged tokens are still refused: verification needs no Redis.
    expect((await request(gateway.url).get('/api/messages').set('Authorization', `Bearer ${issuer.forgeries()['alg none']}`)).status).toBe(401);

    // Brute force stays bounded, per replica.
    const logins: number[] = [];
    for (let attempt = 0; attempt < CREDENTIALS_MAX + 1; attempt += 1) {
      const res = await request(gateway.url)
        .post('/api/auth/login')
        .set('X-Forwarded-For', '192.0.2.2')
        .send({ email: 'a@example.com', password: 'x' });
      logins.push(res.status);
    }
    expect(logins).toEqual([...Array<number>(CREDENTIALS_MAX).fill(200), 429]);

    const metrics = (await request(gateway.url).get('/metrics')).text;
    expect(metricValue(metrics, 'gateway_redis_failures_total', 'use="revocation"')).toBe(PER_CLIENT_MAX + 2);
    expect(metricValue(metrics, 'gateway_redis_failures_total', 'use="rate_limit_client"')).toBeGreaterThanOrEqual(PER_CLIENT_MAX + 2);
    // One warning per outage, not one per request.
    const warnings = captured.lines().filter((line) => String(line.msg).startsWith('revocation check failed'));
    expect(warnings).toHaveLength(1);
  });

  it('uses Redis again once it is back', async () => {
    await redisProxy.start();
    await waitFor(async () => (await request(gateway.url).get('/health/ready')).status === 200, { what: 'the gateway to reconnect to Redis' });
    // What was revoked during the outage is refused now, whether the mirror has caught up yet or not.
    const missed = await request(gateway.url).get('/api/messages').set('Authorization', `Bearer ${revokedDuringToken}`);
    expect(missed.body.error.code).toBe('SESSION_REVOKED');
    await waitFor(async () => (await mirrorSynced()) === 1, { what: 'the revocation mirror to sync again' });
    const revoked = issuer.claims();
    await new RevocationList(redis, prefix).revokeSessions([revoked.sid]);
    await refusedSoon(issuer.sign(revoked));
    // The per-client limit counts in Redis again (its script is reloaded after the outage).
    await waitFor(async () => (await request(gateway.url).get(JWKS_PATH).set('X-Forwarded-For', '192.0.2.3')).status === 429, {
      what: 'the per-client limit to apply again',
    });
    const messages = captured.lines().map((line) => String(line.msg));
    const lost = messages.findIndex((msg) => msg.startsWith('lost the revocation notices'));
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(messages.lastIndexOf('revocation mirror in sync')).toBeGreaterThan(lost);
  });

  it('starts without Redis and begins counting once Redis appears', async () => {
    await redisProxy.stop();
    const late = await startGateway(
      world,
      {
        REDIS_URL: redisProxy.urlFor(TEST_REDIS_URL),
        AUTH_SERVICE_URL: auth.url,
        RATE_LIMIT_MAX: String(PER_CLIENT_MAX),
      },
      { redisStartupWaitMs: 100 },
    );
    try {
      for (let attempt = 0; attempt < PER_CLIENT_MAX + 1; attempt += 1) {
        expect((await request(late.url).get(JWKS_PATH).set('X-Forwarded-For', '192.0.2.4')).status).toBe(200);
      }
      await redisProxy.start();
      await waitFor(async () => (await request(late.url).get(JWKS_PATH).set('X-Forwarded-For', '192.0.2.4')).status === 429, {
        what: 'the per-client limit to apply once Redis is there',
      });
    } finally {
      await late.stop();
    }
  });
});

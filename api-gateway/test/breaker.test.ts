import request from 'supertest';
import { sleep, waitFor, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { killAll, startFakeUpstreams, upstreamEnv, type FakeUpstream, type FakeUpstreams } from './support/upstream';
import { createGatewayWorld, metricValue, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';
const RESET_MS = 1_000;
const MESSAGE_TIMEOUT_MS = 300;

const issuer = new TokenIssuer();
let world: TestWorld;
let upstreams: FakeUpstreams;
let auth: FakeUpstream;
let users: FakeUpstream;
let messages: FakeUpstream;
let realtime: FakeUpstream;
let gateway: RunningService;
const bearer = () => `Bearer ${issuer.sign()}`;
const metrics = async () => (await request(gateway.url).get('/metrics')).text;

beforeAll(async () => {
  world = await createGatewayWorld();
  upstreams = await startFakeUpstreams();
  world.onCleanUp(() => killAll(upstreams));
  ({ auth, users, messages, realtime } = upstreams);
  gateway = await startGateway(world, {
    ...upstreamEnv(upstreams),
    UPSTREAM_TIMEOUT_MS: '2000',
    MESSAGE_SERVICE_TIMEOUT_MS: String(MESSAGE_TIMEOUT_MS),
    BREAKER_RESET_MS: String(RESET_MS),
    BREAKER_VOLUME_THRESHOLD: '3',
    BREAKER_ERROR_THRESHOLD_PERCENT: '50',
  });
});

afterAll(() => world.cleanUp());

describe('circuit breakers', () => {
  it('open on a killed upstream, answer 503 fast while open, and close once it is back', async () => {
    auth.respondWith((_req, res) => res.end(JSON.stringify(issuer.jwks())));
    expect((await request(gateway.url).get('/api/users/me').set('Authorization', bearer())).status).toBe(200);
    await users.kill();

    const first = await request(gateway.url).get('/api/users/me').set('Authorization', bearer());
    expect(first.status).toBe(502);
    expect(first.body.error.code).toBe('BAD_GATEWAY');
    await waitFor(async () => (await request(gateway.url).get('/api/users/me').set('Authorization', bearer())).status === 503, {
      timeoutMs: 2_000,
      what: 'the breaker to open',
    });
    expect(gateway.upstreams.user.state).toBe('open');

    const started = Date.now();
    const rejected = await request(gateway.url).get('/api/users/me').set('Authorization', bearer());
    expect(Date.now() - started).toBeLessThan(100);
    expect(rejected.status).toBe(503);
    expect(rejected.body.error).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: expect.any(String),
      requestId: rejected.headers['x-request-id'],
    });
    expect(rejected.headers['retry-after']).toBe('1');

    const open = await metrics();
    expect(metricValue(open, 'circuit_breaker_state', 'upstream="user"')).toBe(2);
    expect(metricValue(open, 'circuit_breaker_events_total', 'upstream="user",event="open"')).toBe(1);
    expect(metricValue(open, 'circuit_breaker_events_total', 'upstream="user",event="reject"')).toBeGreaterThanOrEqual(1);
    const health = await request(gateway.url).get('/api/health');
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('degraded');
    expect(health.body.upstreams.user).toEqual({ ready: false, breaker: 'open' });

    await users.revive();
    await sleep(RESET_MS);
    // The half-open probe succeeds and closes the breaker.
    expect((await request(gateway.url).get('/api/users/me').set('Authorization', bearer())).status).toBe(200);
    expect(gateway.upstreams.user.state).toBe('closed');
    const closed = await metrics();
    expect(metricValue(closed, 'circuit_breaker_state', 'upstream="user"')).toBe(0);
    expect(metricValue(closed, 'circuit_breaker_events_total', 'upstream="user",event="close"')).toBe(1);
    const healthy = await request(gateway.url).get('/api/health');
    expect(healthy.body.upstreams.user).toEqual({ ready: true, breaker: 'closed', latencyMs: expect.any(Number) });
  });

  it('times out a hanging upstream with 504 in the configured time and drops its request', async () => {
    let upstreamSawClose = false;
    messages.respondWith((req) => req.socket.on('close', () => (upstreamSawClose = true)));
    const started = Date.now();
    const res = await request(gateway.url).get('/api/messages').set('Authorization', bearer());
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('GATEWAY_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(MESSAGE_TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(MESSAGE_TIMEOUT_MS + 400);
    await waitFor(() => upstreamSawClose, { timeoutMs: 1_000, what: 'the upstream request to be dropped' });
    expect(metricValue(await metrics(), 'circuit_breaker_events_total', 'upstream="message",event="timeout"')).toBe(1);
  });

  it('count upstream 5xx as failures (passed through) until the breaker opens', async () => {
    auth.respondWith((req, res) => {
      if (req.url === JWKS_PATH) {
        res.end(JSON.stringify(issuer.jwks()));
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"INTERNAL_ERROR","message":"upstream broke","requestId":"x"}}');
    });
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const res = await request(gateway.url).post('/api/auth/refresh');
      statuses.push(res.status);
      bodies.push(res.body.error.message);
    }
    expect(statuses).toEqual([500, 500, 500, 503]);
    expect(bodies.slice(0, 3)).toEqual(['upstream broke', 'upstream broke', 'upstream broke']);
    expect(gateway.upstreams.auth.state).toBe('open');
  });

  it('never count 4xx against an upstream', async () => {
    realtime.respondWith((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"NOT_FOUND","message":"no such ticket","requestId":"x"}}');
    });
    for (let attempt = 0; attempt < 8; attempt += 1) {
      expect((await request(gateway.url).get('/api/events?ticket=stale')).status).toBe(404);
    }
    expect(gateway.upstreams.realtime.state).toBe('closed');
    expect(metricValue(await metrics(), 'circuit_breaker_events_total', 'upstream="realtime",event="failure"')).toBeUndefined();
  });
});

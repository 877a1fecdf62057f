import request from 'supertest';
import type { TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { FakeUpstream, killAll, startFakeUpstreams, upstreamEnv, type FakeUpstreams } from './support/upstream';
import { createGatewayWorld, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';
const issuer = new TokenIssuer();
let world: TestWorld;
let upstreams: FakeUpstreams;
let secondRealtime: FakeUpstream;
let gateway: RunningService;

beforeAll(async () => {
  world = await createGatewayWorld();
  upstreams = await startFakeUpstreams();
  secondRealtime = await FakeUpstream.start('realtime-2');
  upstreams.auth.respondWith((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === JWKS_PATH ? JSON.stringify(issuer.jwks()) : '{}');
  });
  gateway = await startGateway(world, {
    ...upstreamEnv(upstreams),
    REALTIME_SERVICE_URL: `${upstreams.realtime.url},${secondRealtime.url}`,
  });
});

afterAll(async () => {
  await world.cleanUp();
  await killAll(upstreams);
  await secondRealtime?.kill();
});

describe('an upstream with several replica URLs', () => {
  it('When requests arrive, Then they take the replicas in turn', async () => {
    for (let i = 0; i < 6; i += 1) {
      const res = await request(gateway.url).post('/api/events/ticket').set('Authorization', `Bearer ${issuer.sign()}`);
      expect(res.status).toBe(200);
    }
    expect(upstreams.realtime.proxied).toHaveLength(3);
    expect(secondRealtime.proxied).toHaveLength(3);
  });

  it('When one replica is down, Then /api/health reports the upstream not ready', async () => {
    expect((await request(gateway.url).get('/api/health')).body.upstreams.realtime).toMatchObject({ ready: true });
    await secondRealtime.kill();
    try {
      const res = await request(gateway.url).get('/api/health');
      expect(res.status).toBe(503);
      expect(res.body.upstreams.realtime).toEqual({ ready: false, breaker: 'closed' });
    } finally {
      await secondRealtime.revive();
    }
  });
});

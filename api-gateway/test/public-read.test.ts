import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ConfigError, parseConfig } from '@board/service-kit';
import { expectErrorResponse } from '@board/service-kit/testing';
import { configShape } from '../src/config';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { killAll, startFakeUpstreams, upstreamEnv, type FakeUpstreams } from './support/upstream';
import { deleteKeys, startGateway, testKeyPrefix } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';

const issuer = new TokenIssuer();
const prefix = testKeyPrefix();
let upstreams: FakeUpstreams;
/** PUBLIC_READ left at its default (on). */
let open: RunningService;
let closed: RunningService;

beforeAll(async () => {
  upstreams = await startFakeUpstreams();
  upstreams.auth.respondWith((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === JWKS_PATH ? issuer.jwks() : { upstream: 'auth' }));
  });
  open = await startGateway({ REDIS_KEY_PREFIX: prefix, ...upstreamEnv(upstreams) });
  closed = await startGateway({ REDIS_KEY_PREFIX: prefix, PUBLIC_READ: 'false', ...upstreamEnv(upstreams) });
});

afterAll(async () => {
  await open.stop();
  await closed.stop();
  await killAll(upstreams);
  await deleteKeys(prefix);
});

const forged = { 'X-User-Id': randomUUID(), 'X-User-Role': 'admin', 'X-Session-Id': randomUUID() };
const reached = () => upstreams.messages.proxied.length + upstreams.realtime.proxied.length;

describe('visitors while PUBLIC_READ is on (the default)', () => {
  it.each([
    ['get', '/api/messages?channel=general', 'messages'],
    ['head', '/api/messages', 'messages'],
    ['get', '/api/channels', 'messages'],
    ['head', '/api/channels/', 'messages'],
    ['get', '/api/events?channels=general', 'realtime'],
  ] as const)('When a visitor sends %s %s without a token, Then it reaches %s with no identity, whatever headers they made up', async (method, path, name) => {
    const res = await request(open.url)[method](path).set(forged);
    expect(res.status).toBe(200);
    const { url, headers } = upstreams[name].last();
    expect(url).toBe(path);
    expect([headers['x-user-id'], headers['x-user-role'], headers['x-session-id']]).toEqual([undefined, undefined, undefined]);
  });

  it.each([
    ['post', '/api/messages'],
    ['patch', `/api/messages/${randomUUID()}`],
    ['delete', `/api/messages/${randomUUID()}`],
    ['put', `/api/messages/${randomUUID()}/like`],
    ['delete', `/api/messages/${randomUUID()}/like`],
    ['get', '/api/bookmarks'],
    ['put', `/api/bookmarks/${randomUUID()}`],
    ['delete', `/api/bookmarks/${randomUUID()}`],
    ['post', '/api/events/ticket'],
    ['post', '/api/channels'],
  ] as const)('When a visitor sends %s %s, Then it is 401 and reaches no upstream', async (method, path) => {
    const before = reached();
    const res = await request(open.url)[method](path).send({ body: 'hello' });
    expectErrorResponse(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(reached()).toBe(before);
  });

  it('When a token comes with a public read, Then it is verified: a forged one is 401, a valid one forwards its identity', async () => {
    const before = reached();
    expectErrorResponse(await request(open.url).get('/api/channels').set('Authorization', `Bearer ${issuer.forgeries()['alg none']}`), 401, 'INVALID_TOKEN');
    expectErrorResponse(await request(open.url).get('/api/messages').set('Authorization', 'Bearer'), 401, 'INVALID_TOKEN');
    expect(reached()).toBe(before);
    const claims = issuer.claims({ role: 'member' });
    expect((await request(open.url).get('/api/messages').set('Authorization', `Bearer ${issuer.sign(claims)}`)).status).toBe(200);
    expect(upstreams.messages.last().headers['x-user-id']).toBe(claims.sub);
    expect(upstreams.messages.last().headers['x-user-role']).toBe('member');
  });

  it('routes /api/channels and /api/bookmarks to message-service', async () => {
    const token = issuer.sign(issuer.claims({ role: 'member' }));
    const id = randomUUID();
    for (const path of ['/api/channels', '/api/bookmarks?limit=5', `/api/bookmarks/${id}`]) {
      const res = await request(open.url).get(path).set('Authorization', `Bearer ${token}`);
      expect(res.body).toEqual({ upstream: 'message', path });
    }
    const put = await request(open.url).put(`/api/bookmarks/${id}`).set('Authorization', `Bearer ${token}`);
    expect(put.body).toEqual({ upstream: 'message', path: `/api/bookmarks/${id}` });
    expect(upstreams.messages.last().method).toBe('PUT');
  });
});

describe('PUBLIC_READ=false', () => {
  it.each([
    ['get', '/api/messages'],
    ['head', '/api/messages'],
    ['get', '/api/channels'],
    ['get', '/api/events?channels=general'],
  ] as const)('When a visitor sends %s %s, Then it is 401 and reaches no upstream', async (method, path) => {
    const before = reached();
    const res = await request(closed.url)[method](path);
    expect(res.status).toBe(401);
    if (method === 'get') expectErrorResponse(res, 401, 'UNAUTHORIZED');
    expect(reached()).toBe(before);
  });

  it('still lets a stream with a ticket, and a read with a token, through', async () => {
    expect((await request(closed.url).get('/api/events?ticket=abc&channels=general')).status).toBe(200);
    expect(upstreams.realtime.last().headers['x-user-id']).toBeUndefined();
    const token = issuer.sign(issuer.claims({ role: 'user' }));
    expect((await request(closed.url).get('/api/channels').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await request(closed.url).post('/api/auth/login').send({})).status).toBe(200);
  });

  it.each(['maybe', 'tru', '2'])('refuses PUBLIC_READ=%j as a configuration error', (value) => {
    expect(() => parseConfig(configShape, { PUBLIC_READ: value })).toThrow(ConfigError);
  });
});

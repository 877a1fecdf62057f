import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import request from 'supertest';
import { identityHeaders } from '../src/contracts/identity';
import { createHttpApp } from '../src/http/app';
import { optionalIdentity, requireIdentity, viewerOf } from '../src/http/identity';
import { createMetrics } from '../src/runtime/metrics';
import { expectErrorResponse, silentLogger } from '../src/testing';

const routes = Router();
routes.get('/api/open', optionalIdentity, (req, res) => {
  res.json({ viewer: viewerOf(req) ?? null });
});
routes.get('/api/closed', requireIdentity, (req, res) => {
  res.json({ viewer: viewerOf(req) ?? null });
});
const app = createHttpApp({ logger: silentLogger(), metrics: createMetrics('identity-test'), readiness: {}, routes });

const identity = { userId: randomUUID(), role: 'member' as const, sessionId: randomUUID() };

describe('optionalIdentity', () => {
  it('When no identity header comes, Then the caller is a visitor (no identity), where requireIdentity answers 401', async () => {
    expect((await request(app).get('/api/open')).body).toEqual({ viewer: null });
    expectErrorResponse(await request(app).get('/api/closed'), 401, 'UNAUTHORIZED');
  });

  it('When the gateway vouches for a caller, Then both see the same identity', async () => {
    for (const path of ['/api/open', '/api/closed']) {
      expect((await request(app).get(path).set(identityHeaders(identity))).body).toEqual({ viewer: identity });
    }
  });

  it.each([
    ['a user id alone', { 'x-user-id': identity.userId }],
    ['no session', { 'x-user-id': identity.userId, 'x-user-role': 'admin' }],
    ['a role that is no role', { ...identityHeaders(identity), 'x-user-role': 'root' }],
    ['an id that is no UUID', { ...identityHeaders(identity), 'x-user-id': 'someone' }],
    ['an empty session', { ...identityHeaders(identity), 'x-session-id': '' }],
  ])('When identity headers come but do not make an identity (%s), Then it is 401, never a visitor', async (_label, headers) => {
    expectErrorResponse(await request(app).get('/api/open').set(headers), 401, 'UNAUTHORIZED');
  });
});

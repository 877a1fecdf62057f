import request from 'supertest';
import { TcpProxy, expectErrorResponse, waitFor } from '@board/service-kit/testing';
import { findRefreshTokenForUpdate } from '../src/data/sessions';
import { tokenHash } from '../src/domain/tokens';
import type { RunningService } from '../src/service';
import {
  TEST_REDIS_URL,
  TestWorld,
  asGateway,
  clientFrom,
  cookieHeader,
  login,
  refresh,
  registerAndLogin,
  setCookies,
  verifyWithJwks,
  type Client,
} from './support';

let world: TestWorld;
let service: RunningService;
let url: string;

beforeAll(async () => {
  world = await TestWorld.create('auth_sessions');
  // No grace window here: a replay is reuse at once (the window has its own tests below).
  service = await world.start({ SESSION_CLEANUP_INTERVAL_MS: '1000', REFRESH_REUSE_GRACE_SECONDS: '0' });
  url = service.url;
});

afterAll(() => world.cleanUp());

const sessionsOf = async (client: Client) => {
  const res = await request(url).get('/api/auth/sessions').set(asGateway(client));
  expect(res.status).toBe(200);
  return res.body.sessions as { id: string; userAgent: string; ip: string; createdAt: string; lastUsedAt: string; current: boolean }[];
};

async function refreshOutcomes(outcome: string): Promise<number> {
  const text = (await request(url).get('/metrics')).text;
  const line = text.split('\n').find((row) => row.startsWith('auth_refresh_total{') && row.includes(`outcome="${outcome}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const expectCookiesCleared = (res: request.Response) => {
  const cookies = setCookies(res);
  expect(cookies.get('refresh_token')).toMatchObject({ value: '', maxAge: 0, path: '/api/auth' });
  expect(cookies.get('csrf_token')).toMatchObject({ value: '', maxAge: 0, path: '/' });
};

describe('POST /api/auth/refresh', () => {
  it('rotates the refresh and CSRF tokens and issues a new access token for the same session', async () => {
    const client = await registerAndLogin(url);
    const res = await refresh(url, client);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, user: expect.objectContaining({ id: client.userId }) });
    const next = clientFrom(res);
    expect(next.refreshToken).not.toBe(client.refreshToken);
    expect(next.csrfToken).not.toBe(client.csrfToken);
    expect(next.accessToken).not.toBe(client.accessToken);
    expect(next.identity.sessionId).toBe(client.identity.sessionId);
    await verifyWithJwks(url, next.accessToken);

    const again = await refresh(url, next);
    expect(again.status).toBe(200);
  });

  it('treats a replayed (already rotated) refresh token as theft: the whole session is revoked', async () => {
    const victim = await registerAndLogin(url);
    const rotated = clientFrom(await refresh(url, victim));

    const replay = await refresh(url, victim);
    expectErrorResponse(replay, 401, 'REFRESH_TOKEN_REUSED');
    expectCookiesCleared(replay);
    expect(await world.isSessionRevokedInRedis(victim.identity.sessionId)).toBe(true);

    // The newest token of the family is dead too, and so are its access tokens here.
    expectErrorResponse(await refresh(url, rotated), 401, 'INVALID_REFRESH_TOKEN');
    expectErrorResponse(await request(url).get('/api/auth/sessions').set(asGateway(rotated)), 401, 'SESSION_REVOKED');
    const text = (await request(url).get('/metrics')).text;
    expect(text).toMatch(/auth_refresh_total\{[^}]*outcome="reuse_detected"[^}]*\} [1-9]/);
  });

  it('dates a rotation that happened while a refresh waited on the token as past, not future', async () => {
    const client = await registerAndLogin(url);
    // A refresh whose transaction began before a concurrent one rotated the token (it waits on the row lock).
    const waiter = await service.pool.connect();
    try {
      await waiter.query('BEGIN');
      await waiter.query('SELECT now()');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await refresh(url, client)).status).toBe(200);
      const record = await findRefreshTokenForUpdate(waiter, tokenHash(client.refreshToken));
      expect(record?.rotated).toBe(true);
      expect(record?.rotatedMsAgo).toBeGreaterThanOrEqual(0);
    } finally {
      await waiter.query('ROLLBACK');
      waiter.release();
    }
  });

  it('without a grace window, lets only one of two concurrent refreshes with the same token win; the other is reuse', async () => {
    const client = await registerAndLogin(url);
    const results = await Promise.all([refresh(url, client), refresh(url, client)]);
    expect(results.map((res) => res.status).sort()).toEqual([200, 401]);
    expect(results.find((res) => res.status === 401)?.body.error.code).toBe('REFRESH_TOKEN_REUSED');
  });

  it('answers 403 CSRF_FAILED without rotating when the CSRF header is missing or wrong', async () => {
    const client = await registerAndLogin(url);
    const rejectedBefore = await refreshOutcomes('rejected');
    const noHeader = await request(url).post('/api/auth/refresh').set('Cookie', cookieHeader(client));
    expectErrorResponse(noHeader, 403, 'CSRF_FAILED');
    const wrongHeader = await request(url).post('/api/auth/refresh').set('Cookie', cookieHeader(client)).set('X-CSRF-Token', 'forged');
    expectErrorResponse(wrongHeader, 403, 'CSRF_FAILED');
    const noCookie = await request(url)
      .post('/api/auth/refresh')
      .set('Cookie', cookieHeader({ refreshToken: client.refreshToken }))
      .set('X-CSRF-Token', client.csrfToken);
    expectErrorResponse(noCookie, 403, 'CSRF_FAILED');
    // A header that matches a planted cookie is still refused: the token must be the session's own.
    const planted = await refresh(url, { refreshToken: client.refreshToken, csrfToken: 'planted-by-an-attacker' });
    expectErrorResponse(planted, 403, 'CSRF_FAILED');
    expect(await refreshOutcomes('rejected')).toBe(rejectedBefore + 4);

    expect((await refresh(url, client)).status).toBe(200);
  });

  it('answers 401 INVALID_REFRESH_TOKEN for a missing or unknown refresh token', async () => {
    expectErrorResponse(await request(url).post('/api/auth/refresh'), 401, 'INVALID_REFRESH_TOKEN');
    const unknown = await refresh(url, { refreshToken: 'unknown-token', csrfToken: 'whatever' });
    expectErrorResponse(unknown, 401, 'INVALID_REFRESH_TOKEN');
    expectCookiesCleared(unknown);
  });

  it('refuses to refresh a session past its absolute expiry', async () => {
    const client = await registerAndLogin(url);
    await service.pool.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [client.identity.sessionId]);
    expectErrorResponse(await refresh(url, client), 401, 'INVALID_REFRESH_TOKEN');
  });
});

describe('POST /api/auth/logout', () => {
  it('revokes the session named by the gateway identity and clears the cookies', async () => {
    const client = await registerAndLogin(url);
    const res = await request(url).post('/api/auth/logout').set(asGateway(client));
    expect(res.status).toBe(204);
    expectCookiesCleared(res);
    expect(await world.isSessionRevokedInRedis(client.identity.sessionId)).toBe(true);
    expectErrorResponse(await refresh(url, client), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('works with the refresh cookie and CSRF header when the access token has expired', async () => {
    const client = await registerAndLogin(url);
    const res = await request(url).post('/api/auth/logout').set('Cookie', cookieHeader(client)).set('X-CSRF-Token', client.csrfToken);
    expect(res.status).toBe(204);
    expectCookiesCleared(res);
    expect(await world.isSessionRevokedInRedis(client.identity.sessionId)).toBe(true);
    expectErrorResponse(await refresh(url, client), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('refuses a cookie logout without the CSRF header, and one with neither identity nor cookie', async () => {
    const client = await registerAndLogin(url);
    expectErrorResponse(await request(url).post('/api/auth/logout').set('Cookie', cookieHeader(client)), 403, 'CSRF_FAILED');
    const planted = await request(url)
      .post('/api/auth/logout')
      .set('Cookie', cookieHeader({ refreshToken: client.refreshToken, csrfToken: 'planted' }))
      .set('X-CSRF-Token', 'planted');
    expectErrorResponse(planted, 403, 'CSRF_FAILED');
    expectErrorResponse(await request(url).post('/api/auth/logout'), 401, 'UNAUTHORIZED');
    expect((await refresh(url, client)).status).toBe(200);
  });
});

describe('POST /api/auth/logout-all', () => {
  it('revokes every session of the user and no one else’s', async () => {
    const laptop = await registerAndLogin(url);
    const phone = await login(url, laptop.account, 'phone');
    const stranger = await registerAndLogin(url);
    const res = await request(url).post('/api/auth/logout-all').set(asGateway(phone));
    expect(res.status).toBe(204);
    expectCookiesCleared(res);
    for (const device of [laptop, phone]) {
      expect(await world.isSessionRevokedInRedis(device.identity.sessionId)).toBe(true);
      expectErrorResponse(await refresh(url, device), 401, 'INVALID_REFRESH_TOKEN');
    }
    expect((await refresh(url, stranger)).status).toBe(200);
  });

  it('requires the gateway identity', async () => {
    expectErrorResponse(await request(url).post('/api/auth/logout-all'), 401, 'UNAUTHORIZED');
  });
});

describe('sessions', () => {
  it('lists one row per live device, marking the current one', async () => {
    const laptop = await registerAndLogin(url);
    const phone = await login(url, laptop.account, 'Phone Browser/1.0');
    const ended = await login(url, laptop.account, 'ended');
    await request(url).post('/api/auth/logout').set(asGateway(ended)).expect(204);

    const sessions = await sessionsOf(laptop);
    expect(sessions).toHaveLength(2);
    const byId = new Map(sessions.map((session) => [session.id, session]));
    expect(byId.get(laptop.identity.sessionId)).toMatchObject({ userAgent: 'jest', current: true, ip: '127.0.0.1' });
    expect(byId.get(phone.identity.sessionId)).toMatchObject({ userAgent: 'Phone Browser/1.0', current: false });
    for (const session of sessions) {
      expect(Date.parse(session.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(session.createdAt));
    }
  });

  it('records the client address the proxy reports and truncates long user agents', async () => {
    const client = await registerAndLogin(url);
    const res = await request(url)
      .post('/api/auth/login')
      .set('X-Forwarded-For', '203.0.113.7')
      .set('User-Agent', 'x'.repeat(2_000))
      .send({ email: client.account.email, password: client.account.password });
    const device = clientFrom(res);
    const row = (await sessionsOf(client)).find((session) => session.id === device.identity.sessionId);
    expect(row).toMatchObject({ ip: '203.0.113.7' });
    expect(row?.userAgent).toHaveLength(512);
  });

  it('revokes one own session with DELETE, and answers 404 for another user’s or an unknown one', async () => {
    const laptop = await registerAndLogin(url);
    const phone = await login(url, laptop.account, 'phone');
    const stranger = await registerAndLogin(url);

    expectErrorResponse(await request(url).delete(`/api/auth/sessions/${stranger.identity.sessionId}`).set(asGateway(laptop)), 404, 'NOT_FOUND');
    expect((await refresh(url, stranger)).status).toBe(200);
    expectErrorResponse(await request(url).delete('/api/auth/sessions/00000000-0000-4000-8000-000000000000').set(asGateway(laptop)), 404, 'NOT_FOUND');
    expectErrorResponse(await request(url).delete('/api/auth/sessions/not-a-uuid').set(asGateway(laptop)), 400, 'VALIDATION_FAILED');

    const res = await request(url).delete(`/api/auth/sessions/${phone.identity.sessionId}`).set(asGateway(laptop));
    expect(res.status).toBe(204);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await world.isSessionRevokedInRedis(phone.identity.sessionId)).toBe(true);
    expectErrorResponse(await refresh(url, phone), 401, 'INVALID_REFRESH_TOKEN');
    expect((await sessionsOf(laptop)).map((session) => session.id)).toEqual([laptop.identity.sessionId]);
    expectErrorResponse(await request(url).delete(`/api/auth/sessions/${phone.identity.sessionId}`).set(asGateway(laptop)), 404, 'NOT_FOUND');
  });

  it('refuses identity headers for a session that is unknown or belongs to someone else', async () => {
    const client = await registerAndLogin(url);
    const other = await registerAndLogin(url);
    const borrowed = { identity: { ...client.identity, sessionId: other.identity.sessionId } };
    expectErrorResponse(await request(url).get('/api/auth/sessions').set(asGateway(borrowed)), 401, 'SESSION_REVOKED');
    const invented = { identity: { ...client.identity, sessionId: '00000000-0000-4000-8000-000000000000' } };
    expectErrorResponse(await request(url).get('/api/auth/sessions').set(asGateway(invented)), 401, 'SESSION_REVOKED');
    expectErrorResponse(await request(url).get('/api/auth/sessions'), 401, 'UNAUTHORIZED');
  });

  it('deletes sessions that ended more than a day ago, with their refresh tokens, on schedule', async () => {
    const stale = await registerAndLogin(url);
    const recent = await login(url, stale.account, 'recent');
    const live = await login(url, stale.account, 'live');
    await service.pool.query(`UPDATE sessions SET revoked_at = now() - interval '2 days' WHERE id = $1`, [stale.identity.sessionId]);
    await service.pool.query(`UPDATE sessions SET revoked_at = now() - interval '1 hour' WHERE id = $1`, [recent.identity.sessionId]);
    const remaining = async () =>
      (await service.pool.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [stale.userId])).rows.map((row) => row.id).sort();

    await waitFor(async () => !(await remaining()).includes(stale.identity.sessionId), { what: 'the cleanup', timeoutMs: 5_000 });
    expect(await remaining()).toEqual([recent.identity.sessionId, live.identity.sessionId].sort());
    const orphans = await service.pool.query('SELECT 1 FROM refresh_tokens WHERE session_id = $1', [stale.identity.sessionId]);
    expect(orphans.rowCount).toBe(0);
    // The recently revoked family is kept (so a replay still reads as reuse) but refreshes nothing.
    expectErrorResponse(await refresh(url, recent), 401, 'INVALID_REFRESH_TOKEN');
  });
});

describe('while Redis is unreachable', () => {
  let proxy: TcpProxy;
  let viaProxy: RunningService;

  beforeAll(async () => {
    const redis = new URL(TEST_REDIS_URL);
    proxy = await TcpProxy.create({ host: redis.hostname, port: Number(redis.port || 6379) });
    await proxy.start();
  });

  afterAll(async () => {
    await viaProxy.stop(); // before the proxy goes, so its Redis client can quit cleanly
    await proxy.stop();
  });

  it('still logs out (the database is the authority), counts the failed immediate write, and the recorded revocation still reaches Redis', async () => {
    viaProxy = await world.start({ REDIS_URL: proxy.urlFor(TEST_REDIS_URL) });
    const client = await registerAndLogin(viaProxy.url);
    await proxy.stop();

    const res = await request(viaProxy.url).post('/api/auth/logout').set(asGateway(client));
    expect(res.status).toBe(204);
    expectErrorResponse(await refresh(viaProxy.url, client), 401, 'INVALID_REFRESH_TOKEN');
    // The session.revoked event gets there: through another replica of this world that reaches
    // Redis, or through this one once Redis is back (revocation-durability.test.ts).
    await waitFor(() => world.isSessionRevokedInRedis(client.identity.sessionId), { what: 'the recorded revocation in Redis' });
    const text = (await request(viaProxy.url).get('/metrics')).text;
    expect(text).toMatch(/auth_revocation_publish_failures_total\{[^}]*\} 1/);
    const ready = await request(viaProxy.url).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis.status).toBe('failed');

    await proxy.start();
    await waitFor(async () => (await request(viaProxy.url).get('/health/ready')).status === 200, { what: 'readiness once Redis is back' });
  });
});

describe('the refresh grace window (two tabs refreshing at once)', () => {
  let graceful: RunningService;

  beforeAll(async () => {
    graceful = await world.start({ REFRESH_REUSE_GRACE_SECONDS: '2' });
  });

  afterAll(() => graceful.stop());

  it('When two refreshes present the same token at once, Then both succeed with the same successor and the session lives on', async () => {
    const client = await registerAndLogin(graceful.url);
    const results = await Promise.all([refresh(graceful.url, client), refresh(graceful.url, client)]);
    expect(results.map((res) => res.status)).toEqual([200, 200]);
    const [first, second] = results.map(clientFrom);
    expect(second!.refreshToken).toBe(first!.refreshToken);
    expect(second!.csrfToken).toBe(first!.csrfToken);
    expect(first!.refreshToken).not.toBe(client.refreshToken);
    expect(await world.isSessionRevokedInRedis(client.identity.sessionId)).toBe(false);
    expect((await refresh(graceful.url, first!)).status).toBe(200);
  });

  it('When the successor was itself rotated already, Then the old token is reuse even inside the window', async () => {
    const client = await registerAndLogin(graceful.url);
    const next = clientFrom(await refresh(graceful.url, client));
    expect((await refresh(graceful.url, next)).status).toBe(200);
    expectErrorResponse(await refresh(graceful.url, client), 401, 'REFRESH_TOKEN_REUSED');
  });

  it('When the old token comes back after the window, Then it is reuse and the session is revoked', async () => {
    const client = await registerAndLogin(graceful.url);
    expect((await refresh(graceful.url, client)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    expectErrorResponse(await refresh(graceful.url, client), 401, 'REFRESH_TOKEN_REUSED');
    await waitFor(() => world.isSessionRevokedInRedis(client.identity.sessionId), { what: 'the family revoked' });
  });
});

import { describe, expect, it } from 'vitest';
import { SessionManager } from '../src/session/session';
import { apiError, fakeServer, issued, json, sharedLock } from './fake-api';

const CSRF = 'c'.repeat(43);
const manager = (fetch: typeof globalThis.fetch, extra: Partial<ConstructorParameters<typeof SessionManager>[0]> = {}) =>
  new SessionManager({ fetch, cookies: () => `other=1; csrf_token=${CSRF}`, now: () => Date.now(), ...extra });

describe('SessionManager', () => {
  it('restores the session from the refresh cookie, sending the CSRF header', async () => {
    const server = fakeServer({ 'POST /api/auth/refresh': () => json(200, issued('t1')) });
    const session = manager(server.fetch);
    await session.restore();
    expect(session.getState()).toMatchObject({ status: 'signedIn', user: { username: 'ada' } });
    expect(session.accessToken).toBe('t1');
    expect(server.calls[0]?.headers.get('x-csrf-token')).toBe(CSRF);
    session.dispose();
  });

  it('is signed out when the refresh is refused', async () => {
    const server = fakeServer({ 'POST /api/auth/refresh': () => apiError(401, 'INVALID_REFRESH_TOKEN') });
    const session = manager(server.fetch);
    await session.restore();
    expect(session.getState().status).toBe('signedOut');
    expect(session.accessToken).toBeUndefined();
  });

  it('refreshes once for concurrent requests refused for their token, and retries each once', async () => {
    const server = fakeServer({
      'POST /api/auth/login': () => json(200, issued('old')),
      'POST /api/auth/refresh': async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return json(200, issued('new'));
      },
      'GET /api/messages': (init) =>
        new Headers(init.headers).get('authorization') === 'Bearer new' ? json(200, { messages: [], nextCursor: null }) : apiError(401, 'TOKEN_EXPIRED'),
    });
    const session = manager(server.fetch);
    await session.login('ada@example.com', 'pw');
    const answers = await Promise.all([1, 2, 3].map(() => session.request('/api/messages')));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(server.calls.filter((c) => c.route === 'POST /api/auth/refresh')).toHaveLength(1);
    expect(server.calls.filter((c) => c.route === 'GET /api/messages')).toHaveLength(6);
    session.dispose();
  });

  it('goes to login when the retry is refused too', async () => {
    const server = fakeServer({
      'POST /api/auth/login': () => json(200, issued('a')),
      'POST /api/auth/refresh': () => json(200, issued('b')),
      'GET /api/users/me': () => apiError(401, 'SESSION_REVOKED'),
    });
    const session = manager(server.fetch);
    await session.login('ada@example.com', 'pw');
    const answer = await session.request('/api/users/me');
    expect(answer.status).toBe(401);
    expect(server.calls.filter((c) => c.route === 'GET /api/users/me')).toHaveLength(2);
    expect(session.getState()).toEqual({ status: 'signedOut', reason: 'ended' });
  });

  it('does not treat a wrong old password as the end of the session', async () => {
    const server = fakeServer({
      'POST /api/auth/login': () => json(200, issued('a')),
      'POST /api/auth/password': () => apiError(401, 'INVALID_CREDENTIALS'),
    });
    const session = manager(server.fetch);
    await session.login('ada@example.com', 'pw');
    expect((await session.request('/api/auth/password', { method: 'POST' })).status).toBe(401);
    expect(server.calls.some((c) => c.route === 'POST /api/auth/refresh')).toBe(false);
    expect(session.getState().status).toBe('signedIn');
    session.dispose();
  });

  it('serialises refreshes across tabs, and a tab takes the token another tab fetched', async () => {
    let issuedCount = 0;
    let inside = 0;
    let overlapped = false;
    const server = fakeServer({
      'POST /api/auth/refresh': async () => {
        inside += 1;
        overlapped ||= inside > 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
        inside -= 1;
        issuedCount += 1;
        return json(200, issued(`t${issuedCount}`));
      },
    });
    const locks = sharedLock();
    const channelA = new BroadcastChannel('test-session');
    const channelB = new BroadcastChannel('test-session');
    const a = manager(server.fetch, { locks, channel: channelA });
    const b = manager(server.fetch, { locks, channel: channelB });
    await Promise.all([a.restore(), b.restore()]);
    expect(overlapped).toBe(false);
    expect(a.getState().status).toBe('signedIn');
    expect(b.getState().status).toBe('signedIn');
    // A logout in one tab signs the other out.
    server.calls.length = 0;
    await a.logout();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(b.getState().status).toBe('signedOut');
    channelA.close();
    channelB.close();
    a.dispose();
    b.dispose();
  });

  it('renews the token before it expires', async () => {
    const server = fakeServer({ 'POST /api/auth/refresh': (_init, n) => json(200, issued(`t${n}`, undefined, 1)) });
    const session = manager(server.fetch);
    await session.restore();
    expect(session.accessToken).toBe('t1');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(session.accessToken).toBe('t2');
    session.dispose();
  });
});

describe('SessionManager.logout', () => {
  it('renews an expired token so that the server ends the session, then signs out', async () => {
    const server = fakeServer({
      'POST /api/auth/login': () => json(200, issued('expired')),
      'POST /api/auth/refresh': () => json(200, issued('fresh')),
      'POST /api/auth/logout': (init) => (new Headers(init.headers).get('authorization') === 'Bearer fresh' ? json(204, null) : apiError(401, 'TOKEN_EXPIRED')),
    });
    const session = manager(server.fetch);
    await session.login('ada@example.com', 'pw');
    await session.logout();
    expect(server.calls.filter((c) => c.route === 'POST /api/auth/logout').map((c) => c.authorization)).toEqual(['Bearer expired', 'Bearer fresh']);
    expect(session.getState()).toEqual({ status: 'signedOut', reason: 'logged_out' });
  });
});

describe('SessionManager.reload', () => {
  it('refreshes again until the token carries the new role the auth service learns a moment later', async () => {
    const server = fakeServer({
      'POST /api/auth/login': () => json(200, issued('a')),
      'POST /api/auth/refresh': (_init, n) => json(200, issued(`r${n}`, { ...issued('x').user, role: n >= 3 ? 'member' : 'user' })),
    });
    const session = manager(server.fetch);
    await session.login('ada@example.com', 'pw');
    await session.reload('member');
    expect(session.getState()).toMatchObject({ status: 'signedIn', user: { role: 'member' } });
    expect(server.calls.filter((c) => c.route === 'POST /api/auth/refresh')).toHaveLength(3);
    session.dispose();
  });
});

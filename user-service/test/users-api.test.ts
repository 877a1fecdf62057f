import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { encodeCursor } from '@board/service-kit';
import { ROLES, type Role } from '@board/service-kit/contracts';
import { expectErrorResponse, waitFor } from '@board/service-kit/testing';
import { PASSCODE, startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('user_api');
});

afterAll(async () => {
  await ctx.stop();
});

type Method = 'get' | 'post' | 'patch' | 'delete';
const call = (method: Method, path: string) => request(ctx.service.url)[method](path);


/**
 * Everything a request could change: profiles, the outbox and revocations. Counted failures
 * (`fail:*`, the passcode limit) are not state: a refused guess is meant to count.
 */
async function snapshot() {
  const profiles = (await ctx.service.db.query('SELECT * FROM profiles ORDER BY id')).rows;
  const outbox = (await ctx.service.db.query('SELECT id FROM outbox ORDER BY seq')).rows;
  const keys = await ctx.service.redis.keys(`${ctx.redisPrefix}*`);
  const revocations = keys.filter((key) => !key.startsWith(`${ctx.redisPrefix}fail:`)).sort();
  return { profiles, outbox, revocations };
}

/** Runs `act` and checks it left the database, the outbox and Redis exactly as they were. */
async function expectNothingChanged(act: () => Promise<unknown>): Promise<void> {
  const before = await snapshot();
  await act();
  expect(await snapshot()).toEqual(before);
}

const profileOf = async (id: string) =>
  (await ctx.service.db.query('SELECT display_name, role FROM profiles WHERE id = $1', [id])).rows[0] as
    | { display_name: string; role: Role }
    | undefined;

const outboxEvents = async (type: string, id: string) =>
  (await ctx.service.db.query(`SELECT envelope FROM outbox WHERE type = $1 AND envelope->'data'->>'id' = $2`, [type, id])).rows.map(
    (row) => row.envelope as { data: Record<string, unknown>; correlationId: string },
  );

/** Waits until the observer saw `count` events of `type` about `id` on the exchange. */
const published = (type: Parameters<TestContext['eventLog']['about']>[0], id: string, count = 1) =>
  waitFor(() => {
    const events = ctx.eventLog.about(type, id);
    return events.length >= count ? events : undefined;
  }, { what: `${count} ${type} for ${id}` });

describe('identity from the gateway', () => {
  const someId = randomUUID();
  const routes: [Method, string][] = [
    ['get', '/api/users/me'],
    ['patch', '/api/users/me'],
    ['delete', '/api/users/me'],
    ['post', '/api/users/me/membership'],
    ['get', '/api/users'],
    ['get', `/api/users/${someId}`],
    ['patch', `/api/users/${someId}/role`],
    ['delete', `/api/users/${someId}`],
  ];

  it.each(routes)('%s %s without identity headers is 401', async (method, path) => {
    await expectNothingChanged(async () => expectErrorResponse(await call(method, path).send({}), 401, 'UNAUTHORIZED'));
  });

  it.each(routes)('%s %s with a forged role or a non-uuid user id is 401', async (method, path) => {
    const admin = await ctx.seedUser('admin');
    const badRole = { ...ctx.as(admin), 'x-user-role': 'superuser' };
    const badId = { ...ctx.as(admin), 'x-user-id': 'admin' };
    await expectNothingChanged(async () => {
      expectErrorResponse(await call(method, path).set(badRole).send({}), 401, 'UNAUTHORIZED');
      expectErrorResponse(await call(method, path).set(badId).send({}), 401, 'UNAUTHORIZED');
    });
  });

  it.each([
    ['get', '/api/users'],
    ['patch', `/api/users/${someId}/role`],
    ['delete', `/api/users/${someId}`],
  ] as [Method, string][])('%s %s is 403 for user and member', async (method, path) => {
    for (const role of ['user', 'member'] as const) {
      const caller = await ctx.seedUser(role);
      await expectNothingChanged(async () => expectErrorResponse(await call(method, path).set(ctx.as(caller)).send({ role: 'admin' }), 403, 'FORBIDDEN'));
    }
  });
});

describe('GET /api/users/me', () => {
  it.each(ROLES)('returns the caller\'s own profile, email included, to a %s', async (role) => {
    const me = await ctx.seedUser(role);
    const res = await call('get', '/api/users/me').set(ctx.as(me));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: {
        id: me.id,
        email: me.email,
        username: me.username,
        displayName: me.displayName,
        role,
        avatarUrl: null,
        createdAt: expect.any(String),
        lastActiveAt: null,
      },
    });
    expect(Number.isNaN(Date.parse(res.body.user.createdAt))).toBe(false);
  });

  it('is 404 when the caller has no profile (yet)', async () => {
    expectErrorResponse(await call('get', '/api/users/me').set(ctx.as({ id: randomUUID(), role: 'user' })), 404, 'NOT_FOUND');
  });
});

describe('PATCH /api/users/me', () => {
  it.each(ROLES)('lets a %s change their display name, trimmed, and publishes user.updated', async (role) => {
    const me = await ctx.seedUser(role);
    const res = await call('patch', '/api/users/me').set(ctx.as(me)).set('X-Request-Id', `rename-${me.id}`).send({ displayName: '  Ada <b>L</b>  ' });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: me.id, email: me.email, displayName: 'Ada <b>L</b>', role });
    expect(await profileOf(me.id)).toEqual({ display_name: 'Ada <b>L</b>', role });
    const [event] = await published('user.updated', me.id);
    expect(event).toMatchObject({
      producer: 'user-service',
      correlationId: `rename-${me.id}`,
      data: { id: me.id, username: me.username, displayName: 'Ada <b>L</b>', avatarUrl: null },
    });
  });

  it.each([
    ['a right-to-left override', 'evil\u202Egnp.exe', 'evilgnp.exe'],
    ['bidi isolates and marks', '\u2067Ada\u2069 \u200eL', 'Ada L'],
    ['zero-width characters inside', 'ad\u200bmin\u2060\ufeff', 'admin'],
    ['a decomposed accent (made NFC)', 'Jose\u0301', 'Jos\u00e9'],
  ])('takes %s out of the name', async (_label, sent, stored) => {
    const me = await ctx.seedUser('user');
    const res = await call('patch', '/api/users/me').set(ctx.as(me)).send({ displayName: sent });
    expect(res.status).toBe(200);
    expect(res.body.user.displayName).toBe(stored);
    expect(await profileOf(me.id)).toMatchObject({ display_name: stored });
  });

  it('records no event when the name does not change', async () => {
    const me = await ctx.seedUser('user');
    await expectNothingChanged(async () => {
      const res = await call('patch', '/api/users/me').set(ctx.as(me)).send({ displayName: me.displayName });
      expect(res.status).toBe(200);
      expect(res.body.user.displayName).toBe(me.displayName);
    });
  });

  it('When a user has tried 5 wrong passcodes, Then even the right one is 429 until the window ends, and other users are not held back', async () => {
    const guesser = await ctx.seedUser('user');
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expectErrorResponse(await call('post', '/api/users/me/membership').set(ctx.as(guesser)).send({ passcode: `guess ${attempt}` }), 403, 'WRONG_PASSCODE');
    }
    await expectNothingChanged(async () => {
      const refused = await call('post', '/api/users/me/membership').set(ctx.as(guesser)).send({ passcode: PASSCODE });
      expectErrorResponse(refused, 429, 'TOO_MANY_REQUESTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(800);
    });
    const other = await ctx.seedUser('user');
    expect((await call('post', '/api/users/me/membership').set(ctx.as(other)).send({ passcode: PASSCODE })).status).toBe(200);
  });

  it('is 404 for a caller without a profile', async () => {
    const ghost = { id: randomUUID(), role: 'user' as const };
    await expectNothingChanged(async () => expectErrorResponse(await call('patch', '/api/users/me').set(ctx.as(ghost)).send({ displayName: 'Ghost' }), 404, 'NOT_FOUND'));
  });

  it.each([
    ['no body', undefined],
    ['no display name', {}],
    ['a number', { displayName: 42 }],
    ['null', { displayName: null }],
    ['an array', { displayName: ['a'] }],
    ['an empty name', { displayName: '' }],
    ['only spaces', { displayName: '    ' }],
    ['65 characters', { displayName: 'x'.repeat(65) }],
    ['a NUL character', { displayName: 'a\u0000b' }],
    ['a newline', { displayName: 'a\nb' }],
    ['only zero-width characters', { displayName: '\u200b\u200c\u200d\u2060\ufeff' }],
    ['only bidi controls and spaces', { displayName: ' \u202e\u2066 \u200f ' }],
    ['a username change', { displayName: 'Fine', username: 'new_name' }],
    ['a role change', { displayName: 'Fine', role: 'admin' }],
    ['an array body', ['displayName']],
  ])('rejects %s with 400 and changes nothing', async (_label, body) => {
    const me = await ctx.seedUser('user');
    await expectNothingChanged(async () => {
      const res = await call('patch', '/api/users/me').set(ctx.as(me)).send(body);
      expectErrorResponse(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details.length).toBeGreaterThan(0);
    });
  });

  it('rejects malformed JSON and non-JSON bodies', async () => {
    const me = await ctx.seedUser('user');
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('patch', '/api/users/me').set(ctx.as(me)).set('Content-Type', 'application/json').send('{"displayName":'), 400, 'MALFORMED_JSON');
      expectErrorResponse(await call('patch', '/api/users/me').set(ctx.as(me)).set('Content-Type', 'text/plain').send('displayName=x'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });
});

describe('POST /api/users/me/membership', () => {
  it('makes a user a member with the right passcode, once', async () => {
    const me = await ctx.seedUser('user');
    const res = await call('post', '/api/users/me/membership').set(ctx.as(me)).send({ passcode: PASSCODE });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: expect.objectContaining({ id: me.id, email: me.email, role: 'member' }) });
    expect(await profileOf(me.id)).toMatchObject({ role: 'member' });
    const [event] = await published('user.role_changed', me.id);
    expect(event?.data).toEqual({ id: me.id, role: 'member', previousRole: 'user' });

    const again = await call('post', '/api/users/me/membership').set(ctx.as({ ...me, role: 'member' })).send({ passcode: PASSCODE });
    expect(again.status).toBe(200);
    expect(again.body.user.role).toBe('member');
    expect(await outboxEvents('user.role_changed', me.id)).toHaveLength(1);
  });

  it.each(['member', 'admin'] as const)('leaves a %s as they are, with no event', async (role) => {
    const me = await ctx.seedUser(role);
    await expectNothingChanged(async () => {
      const res = await call('post', '/api/users/me/membership').set(ctx.as(me)).send({ passcode: PASSCODE });
      expect(res.status).toBe(200);
      expect(res.body.user.role).toBe(role);
    });
  });

  it.each([
    ['a wrong passcode', 'open sesame'],
    ['the passcode with a different case', PASSCODE.toUpperCase()],
    ['a prefix of the passcode', PASSCODE.slice(0, 5)],
    ['the passcode with more after it', `${PASSCODE}!`],
  ])('refuses %s with 403 WRONG_PASSCODE', async (_label, passcode) => {
    const me = await ctx.seedUser('user');
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('post', '/api/users/me/membership').set(ctx.as(me)).send({ passcode }), 403, 'WRONG_PASSCODE');
    });
  });

  it('is 404 for a caller without a profile', async () => {
    const ghost = { id: randomUUID(), role: 'user' as const };
    await expectNothingChanged(async () =>
      expectErrorResponse(await call('post', '/api/users/me/membership').set(ctx.as(ghost)).send({ passcode: PASSCODE }), 404, 'NOT_FOUND'),
    );
  });

  it.each([
    ['no passcode', {}],
    ['a number', { passcode: 1234 }],
    ['an empty passcode', { passcode: '' }],
    ['an array', { passcode: [PASSCODE] }],
    ['an extra field', { passcode: PASSCODE, role: 'admin' }],
    ['a 257-character passcode', { passcode: 'x'.repeat(257) }],
  ])('rejects %s with 400', async (_label, body) => {
    const me = await ctx.seedUser('user');
    await expectNothingChanged(async () => expectErrorResponse(await call('post', '/api/users/me/membership').set(ctx.as(me)).send(body), 400, 'VALIDATION_FAILED'));
  });

  it('counts attempts by outcome without labelling them by user', async () => {
    const metrics = (await call('get', '/metrics')).text;
    expect(metrics).toMatch(/membership_requests_total\{[^}]*outcome="granted"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/membership_requests_total\{[^}]*outcome="wrong_passcode"[^}]*\} [1-9]/);
  });
});

describe('GET /api/users (admin)', () => {
  it('pages through every profile exactly once, in creation order, with emails', async () => {
    const admin = await ctx.seedUser('admin');
    const expected = (await ctx.service.db.query<{ id: string }>('SELECT id FROM profiles ORDER BY created_at, id')).rows.map((row) => row.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string | number> = cursor === null ? { limit: 3 } : { limit: 3, after: cursor };
      const res = await call('get', '/api/users').query(query).set(ctx.as(admin));
      expect(res.status).toBe(200);
      expect(res.body.users.length).toBeLessThanOrEqual(3);
      for (const user of res.body.users) expect(user).toEqual(expect.objectContaining({ email: expect.any(String) }));
      seen.push(...res.body.users.map((user: TestUser) => user.id));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 3));
  });

  it('keeps rows created in the same microsecond apart by id', async () => {
    const admin = await ctx.seedUser('admin');
    // One statement: every row gets the same created_at.
    await ctx.service.db.query(
      `INSERT INTO profiles (id, email, username, display_name, role)
       SELECT gen_random_uuid(), 'twin' || n || '@example.com', 'twin' || n, 'Twin', 'user' FROM generate_series(1, 5) AS n`,
    );
    const twins = (await ctx.service.db.query<{ id: string }>(`SELECT id FROM profiles WHERE display_name = 'Twin' ORDER BY id`)).rows.map((row) => row.id);
    const all = (await ctx.service.db.query<{ id: string }>('SELECT id FROM profiles ORDER BY created_at, id')).rows.map((row) => row.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await call('get', '/api/users').query(cursor === null ? { limit: 2 } : { limit: 2, after: cursor }).set(ctx.as(admin));
      seen.push(...res.body.users.map((user: TestUser) => user.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(all);
    expect(seen.filter((id) => twins.includes(id))).toEqual(twins);
  });

  it('serves 50 by default and caps a larger limit at 100', async () => {
    const admin = await ctx.seedUser('admin');
    await ctx.service.db.query(
      `INSERT INTO profiles (id, email, username, display_name, role)
       SELECT gen_random_uuid(), 'bulk' || n || '@example.com', 'bulk' || n, 'Bulk', 'user' FROM generate_series(1, 110) AS n`,
    );
    const byDefault = await call('get', '/api/users').set(ctx.as(admin));
    expect(byDefault.body.users).toHaveLength(50);
    const capped = await call('get', '/api/users').query({ limit: 100_000 }).set(ctx.as(admin));
    expect(capped.status).toBe(200);
    expect(capped.body.users).toHaveLength(100);
    expect(capped.body.nextCursor).toEqual(expect.any(String));
  });

  it.each([
    ['limit=0', { limit: '0' }],
    ['limit=-1', { limit: '-1' }],
    ['limit=1.5', { limit: '1.5' }],
    ['limit=ten', { limit: 'ten' }],
    ['an empty limit', { limit: '' }],
    ['two limits', { limit: ['1', '2'] }],
    ['a cursor that is not base64 of anything', { after: '!!!' }],
    ['a cursor with a bad id', { after: encodeCursor({ createdAt: '2024-01-01T00:00:00.000000Z', id: 'nope' }) }],
    ['a cursor on 30 February', { after: encodeCursor({ createdAt: '2024-02-30T00:00:00.000000Z', id: randomUUID() }) }],
    ['a cursor without microseconds', { after: Buffer.from(`2024-01-01T00:00:00Z ${randomUUID()}`).toString('base64url') }],
    ['two cursors', { after: ['a', 'b'] }],
  ])('rejects %s with 400', async (_label, query) => {
    const admin = await ctx.seedUser('admin');
    expectErrorResponse(await call('get', '/api/users').query(query).set(ctx.as(admin)), 400, 'VALIDATION_FAILED');
  });
});

describe('GET /api/users/:id', () => {
  it.each(['user', 'member'] as const)('shows a %s someone else\'s public profile without email', async (role) => {
    const caller = await ctx.seedUser(role);
    const other = await ctx.seedUser('member');
    const res = await call('get', `/api/users/${other.id}`).set(ctx.as(caller));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: { id: other.id, username: other.username, displayName: other.displayName, role: 'member', avatarUrl: null, createdAt: expect.any(String) },
    });
  });

  it('shows the email to the user themselves and to admins', async () => {
    const me = await ctx.seedUser('user');
    const admin = await ctx.seedUser('admin');
    expect((await call('get', `/api/users/${me.id}`).set(ctx.as(me))).body.user.email).toBe(me.email);
    expect((await call('get', `/api/users/${me.id.toUpperCase()}`).set(ctx.as(admin))).body.user.email).toBe(me.email);
  });

  it('is 404 for an unknown id and 400 for something that is not a uuid', async () => {
    const caller = await ctx.seedUser('user');
    expectErrorResponse(await call('get', `/api/users/${randomUUID()}`).set(ctx.as(caller)), 404, 'NOT_FOUND');
    expectErrorResponse(await call('get', '/api/users/not-a-uuid').set(ctx.as(caller)), 400, 'VALIDATION_FAILED');
    expectErrorResponse(await call('get', `/api/users/${randomUUID()}x`).set(ctx.as(caller)), 400, 'VALIDATION_FAILED');
  });
});

describe('PATCH /api/users/:id/role (admin)', () => {
  it('changes a role and publishes user.role_changed with the previous role', async () => {
    const admin = await ctx.seedUser('admin');
    const target = await ctx.seedUser('user');
    const res = await call('patch', `/api/users/${target.id}/role`).set(ctx.as(admin)).send({ role: 'admin' });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: target.id, email: target.email, role: 'admin' });
    expect(await profileOf(target.id)).toMatchObject({ role: 'admin' });
    const [event] = await published('user.role_changed', target.id);
    expect(event?.data).toEqual({ id: target.id, role: 'admin', previousRole: 'user' });
  });

  it('records nothing when the role is already the one asked for', async () => {
    const admin = await ctx.seedUser('admin');
    const target = await ctx.seedUser('member');
    await expectNothingChanged(async () => {
      const res = await call('patch', `/api/users/${target.id}/role`).set(ctx.as(admin)).send({ role: 'member' });
      expect(res.status).toBe(200);
      expect(res.body.user.role).toBe('member');
    });
  });

  it('is 404 for an unknown user', async () => {
    const admin = await ctx.seedUser('admin');
    await expectNothingChanged(async () =>
      expectErrorResponse(await call('patch', `/api/users/${randomUUID()}/role`).set(ctx.as(admin)).send({ role: 'member' }), 404, 'NOT_FOUND'),
    );
  });

  it.each([
    ['no role', {}],
    ['an unknown role', { role: 'owner' }],
    ['a role in capitals', { role: 'ADMIN' }],
    ['a number', { role: 1 }],
    ['an extra field', { role: 'member', displayName: 'x' }],
  ])('rejects %s with 400', async (_label, body) => {
    const admin = await ctx.seedUser('admin');
    const target = await ctx.seedUser('user');
    await expectNothingChanged(async () =>
      expectErrorResponse(await call('patch', `/api/users/${target.id}/role`).set(ctx.as(admin)).send(body), 400, 'VALIDATION_FAILED'),
    );
  });

  it('rejects a non-uuid id with 400', async () => {
    const admin = await ctx.seedUser('admin');
    await expectNothingChanged(async () =>
      expectErrorResponse(await call('patch', '/api/users/me/role').set(ctx.as(admin)).send({ role: 'user' }), 400, 'VALIDATION_FAILED'),
    );
  });
});

describe('DELETE /api/users/me and /api/users/:id', () => {
  const revokedKey = (id: string) => `${ctx.redisPrefix}revoked:user:${id}`;

  it.each(['user', 'member'] as const)('lets a %s delete themselves: profile gone, user revoked, user.deleted published', async (role) => {
    const me = await ctx.seedUser(role);
    const res = await call('delete', '/api/users/me').set(ctx.as(me));
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await profileOf(me.id)).toBeUndefined();
    expect(await ctx.service.redis.exists(revokedKey(me.id))).toBe(1);
    const ttl = await ctx.service.redis.ttl(revokedKey(me.id));
    expect(ttl).toBeGreaterThan(3_500);
    expect(ttl).toBeLessThanOrEqual(3_600);
    const [event] = await published('user.deleted', me.id);
    expect(event?.data).toEqual({ id: me.id });
    expectErrorResponse(await call('get', '/api/users/me').set(ctx.as(me)), 404, 'NOT_FOUND');
  });

  it('lets an admin delete another user', async () => {
    const admin = await ctx.seedUser('admin');
    const target = await ctx.seedUser('member');
    expect((await call('delete', `/api/users/${target.id}`).set(ctx.as(admin))).status).toBe(204);
    expect(await profileOf(target.id)).toBeUndefined();
    expect(await ctx.service.redis.exists(revokedKey(target.id))).toBe(1);
    await published('user.deleted', target.id);
  });

  it('is 404 for an unknown id or a caller without a profile, 400 for a non-uuid', async () => {
    const admin = await ctx.seedUser('admin');
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('delete', `/api/users/${randomUUID()}`).set(ctx.as(admin)), 404, 'NOT_FOUND');
      expectErrorResponse(await call('delete', '/api/users/me').set(ctx.as({ id: randomUUID(), role: 'user' })), 404, 'NOT_FOUND');
      expectErrorResponse(await call('delete', '/api/users/12345').set(ctx.as(admin)), 400, 'VALIDATION_FAILED');
    });
  });
});

describe('the last admin', () => {
  /** Leaves exactly the given admins: every other admin is made a member first. */
  async function onlyAdmins(...admins: TestUser[]): Promise<void> {
    await ctx.service.db.query(`UPDATE profiles SET role = 'member' WHERE role = 'admin' AND NOT (id = ANY($1::uuid[]))`, [
      admins.map((admin) => admin.id),
    ]);
  }

  const adminCount = async () => Number((await ctx.service.db.query(`SELECT count(*) FROM profiles WHERE role = 'admin'`)).rows[0]?.count);

  it('cannot demote or delete themselves, by either route', async () => {
    const admin = await ctx.seedUser('admin');
    await onlyAdmins(admin);
    await expectNothingChanged(async () => {
      for (const role of ['member', 'user']) {
        expectErrorResponse(await call('patch', `/api/users/${admin.id}/role`).set(ctx.as(admin)).send({ role }), 409, 'LAST_ADMIN');
      }
      expectErrorResponse(await call('delete', '/api/users/me').set(ctx.as(admin)), 409, 'LAST_ADMIN');
      expectErrorResponse(await call('delete', `/api/users/${admin.id}`).set(ctx.as(admin)), 409, 'LAST_ADMIN');
    });
  });

  it('may step down or leave while another admin remains', async () => {
    const first = await ctx.seedUser('admin');
    const second = await ctx.seedUser('admin');
    await onlyAdmins(first, second);
    expect((await call('patch', `/api/users/${first.id}/role`).set(ctx.as(first)).send({ role: 'member' })).status).toBe(200);
    expectErrorResponse(await call('delete', '/api/users/me').set(ctx.as(second)), 409, 'LAST_ADMIN');
    expect(await adminCount()).toBe(1);
  });

  it('survives two admins stepping down at the same moment: one succeeds, one is refused', async () => {
    for (let round = 0; round < 5; round += 1) {
      const first = await ctx.seedUser('admin');
      const second = await ctx.seedUser('admin');
      await onlyAdmins(first, second);
      const results = await Promise.all([
        call('patch', `/api/users/${first.id}/role`).set(ctx.as(first)).send({ role: 'member' }),
        call('delete', '/api/users/me').set(ctx.as(second)),
      ]);
      const statuses = results.map((res) => res.status);
      expect(statuses.filter((status) => status === 409)).toHaveLength(1);
      expect(statuses.filter((status) => status === 200 || status === 204)).toHaveLength(1);
      expect(await adminCount()).toBe(1);
    }
  });
});

describe('an admin who was demoted', () => {
  const roleRecord = async (id: string) => JSON.parse((await ctx.service.redis.get(`${ctx.redisPrefix}revoked:role:${id}`)) ?? 'null') as { role: string } | null;

  it('When an admin demotes someone, Then the new role is recorded in Redis at once for the gateways', async () => {
    const admin = await ctx.seedUser('admin');
    const target = await ctx.seedUser('admin');
    expect((await call('patch', `/api/users/${target.id}/role`).set(ctx.as(admin)).send({ role: 'user' })).status).toBe(200);
    expect(await roleRecord(target.id)).toEqual({ role: 'user', version: 2 });
  });

  it('When their token still says admin, Then they can neither change roles nor delete anyone', async () => {
    const admin = await ctx.seedUser('admin');
    const demoted = await ctx.seedUser('admin');
    const victim = await ctx.seedUser('member');
    expect((await call('patch', `/api/users/${demoted.id}/role`).set(ctx.as(admin)).send({ role: 'user' })).status).toBe(200);
    const staleToken = ctx.as({ id: demoted.id, role: 'admin' });
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('patch', `/api/users/${demoted.id}/role`).set(staleToken).send({ role: 'admin' }), 403, 'FORBIDDEN');
      expectErrorResponse(await call('patch', `/api/users/${victim.id}/role`).set(staleToken).send({ role: 'user' }), 403, 'FORBIDDEN');
      expectErrorResponse(await call('delete', `/api/users/${victim.id}`).set(staleToken), 403, 'FORBIDDEN');
    });
    expect((await profileOf(victim.id))?.role).toBe('member');
  });
});

import request from 'supertest';
import { expectErrorResponse } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import {
  createAuthWorld,
  asGateway,
  login,
  newAccount,
  register,
  registerAndLogin,
  setCookies,
  verifyWithJwks,
  type AuthWorld,
} from './support';

let world: AuthWorld;
let service: RunningService;
let url: string;

beforeAll(async () => {
  world = await createAuthWorld('auth_credentials');
  service = await world.start();
  url = service.url;
});

afterAll(() => world.cleanUp());

describe('POST /api/auth/register', () => {
  it('creates the account with lower-cased email and username and the display name as typed', async () => {
    const account = newAccount();
    const res = await register(url, { ...account, username: account.username.toUpperCase() });
    expect(res.body).toEqual({
      user: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: account.email.toLowerCase(),
        username: account.username.toLowerCase(),
        displayName: account.username.toUpperCase(),
        role: 'user',
        createdAt: expect.any(String),
      },
    });
    expect(Number.isNaN(Date.parse(res.body.user.createdAt))).toBe(false);
  });

  it('refuses unknown or read-only fields (a role, an id) with 400, creating nothing', async () => {
    const account = newAccount();
    const res = await request(url)
      .post('/api/auth/register')
      .send({ ...account, role: 'admin', id: '00000000-0000-0000-0000-000000000000' });
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(res.body.error.details)).toContain('role, id');
    const { rowCount } = await service.pool.query('SELECT 1 FROM credentials WHERE email = $1', [account.email.toLowerCase()]);
    expect(rowCount).toBe(0);
  });

  it('stores only a bcrypt hash of the password', async () => {
    const account = newAccount();
    const res = await request(url)
      .post('/api/auth/register')
      .send({ ...account, displayName: '  Ada L.  ' });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ displayName: 'Ada L.', role: 'user' });
    const { rows } = await service.pool.query('SELECT password_hash FROM credentials WHERE user_id = $1', [res.body.user.id]);
    expect(rows[0].password_hash).toMatch(/^\$2b\$04\$/);
    expect(rows[0].password_hash).not.toContain(account.password);
  });

  it('takes bidi controls and zero-width characters out of the display name, and records it so', async () => {
    const res = await request(url)
      .post('/api/auth/register')
      .send({ ...newAccount(), displayName: '\u202eAda\u200b L\u2066.' });
    expect(res.status).toBe(201);
    expect(res.body.user.displayName).toBe('Ada L.');
    const { rows } = await service.pool.query(`SELECT envelope FROM outbox WHERE type = 'user.registered' AND envelope->'data'->>'id' = $1`, [
      res.body.user.id,
    ]);
    expect(rows[0].envelope.data.displayName).toBe('Ada L.');
  });

  it('refuses a taken email (whatever its case) with 409 EMAIL_TAKEN and a taken username with 409 USERNAME_TAKEN', async () => {
    const account = newAccount();
    await register(url, account);
    const sameEmail = await request(url)
      .post('/api/auth/register')
      .send({ ...newAccount(), email: account.email.toUpperCase() });
    expectErrorResponse(sameEmail, 409, 'EMAIL_TAKEN');
    const sameUsername = await request(url)
      .post('/api/auth/register')
      .send({ ...newAccount(), username: account.username.toUpperCase() });
    expectErrorResponse(sameUsername, 409, 'USERNAME_TAKEN');
  });

  it('records user.registered in the outbox with the account', async () => {
    const res = await register(url, newAccount());
    const { rows } = await service.pool.query(`SELECT envelope FROM outbox WHERE type = 'user.registered' AND envelope->'data'->>'id' = $1`, [
      res.body.user.id,
    ]);
    expect(rows).toHaveLength(1);
    const { id, email, username, displayName, role } = res.body.user;
    expect(rows[0].envelope).toMatchObject({ type: 'user.registered', producer: 'auth-service', data: { id, email, username, displayName, role } });
  });

  it.each([
    ['a missing email', { email: undefined }, ['email']],
    ['a malformed email', { email: 'not-an-email' }, ['email']],
    ['a short username', { username: 'ab' }, ['username']],
    ['a username with spaces', { username: 'bad name' }, ['username']],
    ['a short password', { password: 'short' }, ['password']],
    ['a password over 72 bytes', { password: 'é'.repeat(37) }, ['password']],
    ['a non-string password', { password: 12345678 }, ['password']],
    ['an empty display name', { displayName: '   ' }, ['displayName']],
    ['a display name over 64 characters', { displayName: 'x'.repeat(65) }, ['displayName']],
    ['a display name of zero-width characters only', { displayName: '\u200b\u2060\ufeff' }, ['displayName']],
    ['a display name with a control character', { displayName: 'a\u0007b' }, ['displayName']],
    ['several problems at once', { email: 42, username: '', password: null }, ['email', 'password', 'username']],
  ])('answers %s with 400 VALIDATION_FAILED naming the fields', async (_case, change, fields) => {
    const res = await request(url)
      .post('/api/auth/register')
      .send({ ...newAccount(), ...change });
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details.map((detail: { field: string }) => detail.field).sort()).toEqual(fields);
  });

  it('answers malformed JSON with 400, an oversized body with 413 and a non-JSON body with 415', async () => {
    const malformed = await request(url).post('/api/auth/register').set('Content-Type', 'application/json').send('{"email": "a@b.c",');
    expectErrorResponse(malformed, 400, 'MALFORMED_JSON');
    const oversized = await request(url)
      .post('/api/auth/register')
      .send({ ...newAccount(), displayName: 'x'.repeat(20_000) });
    expectErrorResponse(oversized, 413, 'PAYLOAD_TOO_LARGE');
    const form = await request(url).post('/api/auth/login').type('form').send({ email: 'a@b.c', password: 'x' });
    expectErrorResponse(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('POST /api/auth/login', () => {
  it('answers with a bearer token, the user and HttpOnly Secure SameSite=Strict cookies', async () => {
    const account = newAccount();
    const registered = await register(url, account);
    const res = await request(url).post('/api/auth/login').send({ email: account.email.toUpperCase(), password: account.password });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, user: registered.body.user });

    const cookies = setCookies(res);
    expect(cookies.get('refresh_token')).toMatchObject({ path: '/api/auth', httpOnly: true, secure: true, sameSite: 'strict' });
    expect(cookies.get('refresh_token')?.value).toMatch(/^[\w-]{43}$/);
    expect(cookies.get('refresh_token')?.maxAge).toBeGreaterThan(29 * 86_400);
    expect(cookies.get('csrf_token')).toMatchObject({ path: '/', secure: true, sameSite: 'strict' });
    expect(cookies.get('csrf_token')?.httpOnly).toBeFalsy();

    const claims = await verifyWithJwks(url, res.body.accessToken);
    expect(claims).toMatchObject({ sub: registered.body.user.id, role: 'user', sid: expect.any(String), jti: expect.any(String) });
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  it('stores the session with the device, and the refresh and CSRF tokens only as hashes', async () => {
    const client = await registerAndLogin(url);
    const { rows } = await service.pool.query('SELECT user_agent, csrf_hash FROM sessions WHERE id = $1', [client.identity.sessionId]);
    expect(rows[0].user_agent).toBe('jest');
    expect(rows[0].csrf_hash).not.toBe(client.csrfToken);
    const tokens = await service.pool.query('SELECT token_hash FROM refresh_tokens WHERE session_id = $1', [client.identity.sessionId]);
    expect(tokens.rows).toHaveLength(1);
    expect(tokens.rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens.rows[0].token_hash).not.toContain(client.refreshToken);
  });

  it('answers a wrong password and an unknown email with the same 401 INVALID_CREDENTIALS', async () => {
    const account = newAccount();
    await register(url, account);
    const wrongPassword = await request(url).post('/api/auth/login').send({ email: account.email, password: 'not the password' });
    const unknownEmail = await request(url).post('/api/auth/login').send({ email: newAccount().email, password: account.password });
    const strip = (res: request.Response) => ({
      status: res.status,
      body: { error: { ...res.body.error, requestId: undefined } },
      cookies: res.headers['set-cookie'],
    });
    expectErrorResponse(wrongPassword, 401, 'INVALID_CREDENTIALS');
    expect(strip(unknownEmail)).toEqual(strip(wrongPassword));
  });

  it('does not accept a password that only shares its first 72 bytes with the real one', async () => {
    const account = { ...newAccount(), password: 'p'.repeat(72) };
    await register(url, account);
    const res = await request(url)
      .post('/api/auth/login')
      .send({ email: account.email, password: `${account.password}extra` });
    expectErrorResponse(res, 401, 'INVALID_CREDENTIALS');
  });

  it('rehashes a password made with another cost at the next successful login', async () => {
    const account = newAccount();
    const res = await register(url, account);
    const stronger = await world.start({ BCRYPT_COST: '5' });
    await login(stronger.url, account);
    const { rows } = await service.pool.query('SELECT password_hash FROM credentials WHERE user_id = $1', [res.body.user.id]);
    expect(rows[0].password_hash).toMatch(/^\$2b\$05\$/);
    await login(url, account);
  });

  it('answers missing fields with 400 VALIDATION_FAILED', async () => {
    const res = await request(url).post('/api/auth/login').send({ email: 'someone@example.com' });
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'password' })]);
  });

  it('counts logins by outcome', async () => {
    const text = (await request(url).get('/metrics')).text;
    expect(text).toMatch(/auth_logins_total\{[^}]*outcome="success"[^}]*\} [1-9]/);
    expect(text).toMatch(/auth_logins_total\{[^}]*outcome="invalid_credentials"[^}]*\} [1-9]/);
  });
});

describe('POST /api/auth/password', () => {
  it('changes the password with the old one and revokes every other session', async () => {
    const current = await registerAndLogin(url);
    const other = await login(url, current.account, 'other device');
    const res = await request(url)
      .post('/api/auth/password')
      .set(asGateway(current))
      .send({ oldPassword: current.account.password, newPassword: 'a brand new password' });
    expect(res.status).toBe(204);

    expectErrorResponse(await request(url).post('/api/auth/login').send(current.account), 401, 'INVALID_CREDENTIALS');
    await login(url, { email: current.account.email, password: 'a brand new password' });
    expect(await world.isSessionRevokedInRedis(other.identity.sessionId)).toBe(true);
    expect(await world.isSessionRevokedInRedis(current.identity.sessionId)).toBe(false);
    expect((await request(url).get('/api/auth/sessions').set(asGateway(current))).status).toBe(200);
    expectErrorResponse(await request(url).get('/api/auth/sessions').set(asGateway(other)), 401, 'SESSION_REVOKED');
  });

  it('refuses a wrong old password with 401 INVALID_CREDENTIALS and changes nothing', async () => {
    const client = await registerAndLogin(url);
    const other = await login(url, client.account, 'other device');
    const res = await request(url)
      .post('/api/auth/password')
      .set(asGateway(client))
      .send({ oldPassword: 'not the password', newPassword: 'a brand new password' });
    expectErrorResponse(res, 401, 'INVALID_CREDENTIALS');
    await login(url, client.account);
    expect((await request(url).get('/api/auth/sessions').set(asGateway(other))).status).toBe(200);
  });

  it('When 5 wrong old passwords were tried, Then a password change is 429 even with the right one, for that user only', async () => {
    const client = await registerAndLogin(url);
    const change = (oldPassword: string) =>
      request(url).post('/api/auth/password').set(asGateway(client)).send({ oldPassword, newPassword: 'a brand new password' });
    for (let attempt = 0; attempt < 5; attempt += 1) expectErrorResponse(await change(`wrong ${attempt}`), 401, 'INVALID_CREDENTIALS');
    const refused = await change(client.account.password);
    expectErrorResponse(refused, 429, 'TOO_MANY_REQUESTS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(800);
    // The password did not change, and someone else's change is not held back.
    await login(url, client.account);
    const other = await registerAndLogin(url);
    const otherChange = await request(url).post('/api/auth/password').set(asGateway(other)).send({ oldPassword: other.account.password, newPassword: 'another new password' });
    expect(otherChange.status).toBe(204);
  });

  it('validates the new password and requires the gateway identity', async () => {
    const client = await registerAndLogin(url);
    const tooShort = await request(url).post('/api/auth/password').set(asGateway(client)).send({ oldPassword: client.account.password, newPassword: 'short' });
    expectErrorResponse(tooShort, 400, 'VALIDATION_FAILED');
    const same = await request(url)
      .post('/api/auth/password')
      .set(asGateway(client))
      .send({ oldPassword: client.account.password, newPassword: client.account.password });
    expectErrorResponse(same, 400, 'VALIDATION_FAILED');
    const anonymous = await request(url).post('/api/auth/password').send({ oldPassword: client.account.password, newPassword: 'a brand new password' });
    expectErrorResponse(anonymous, 401, 'UNAUTHORIZED');
  });
});

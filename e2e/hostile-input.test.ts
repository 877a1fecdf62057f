import { createPublicKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { call } from './support/client';
import { claimsOf, newUser, register, uniqueName, type Session } from './support/users';

const errorShape = (code: string) => ({ error: expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }) });

/** Clients that send garbage get a clear 4xx in the error shape, never a 500, and nothing changes. */
describe('hostile and broken input, through nginx', () => {
  let session: Session;
  const channel = `bad-${Date.now().toString(36)}`;

  beforeAll(async () => {
    session = await newUser('victim');
  });

  const countMessages = async () =>
    (await call<{ messages: unknown[] }>('GET', `/api/messages?channel=${channel}&limit=100`, { token: session.accessToken })).body.messages.length;

  it.each([
    ['POST', '/api/auth/register'],
    ['POST', '/api/auth/login'],
    ['POST', '/api/messages'],
    ['PATCH', '/api/users/me'],
    ['POST', '/api/users/me/membership'],
  ])('%s %s: malformed JSON is 400 MALFORMED_JSON', async (method, path) => {
    const response = await call(method, path, { token: session.accessToken, body: '{"body": "unterminated' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorShape('MALFORMED_JSON'));
  });

  it('answers wrong types with field details, and stores nothing', async () => {
    const before = await countMessages();
    const response = await call<{ error: { details: { field: string }[] } }>('POST', '/api/messages', {
      token: session.accessToken,
      body: { channel, body: { html: '<script>' } },
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorShape('VALIDATION_FAILED'));
    expect(response.body.error.details.map((detail) => detail.field)).toContain('body');
    const badChannel = await call('POST', '/api/messages', { token: session.accessToken, body: { channel: '../../etc', body: 'x' } });
    expect(badChannel.status).toBe(400);
    expect(await countMessages()).toBe(before);
  });

  it('answers a body that is not JSON with 415', async () => {
    const response = await call('POST', '/api/messages', {
      token: session.accessToken,
      body: 'channel=general&body=hi',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(415);
    expect(response.body).toEqual(errorShape('UNSUPPORTED_MEDIA_TYPE'));
  });

  it('answers a JSON dialect (application/vnd.api+json) with 415, and posts nothing', async () => {
    const before = await countMessages();
    const response = await call('POST', '/api/messages', {
      token: session.accessToken,
      body: JSON.stringify({ channel, body: 'dialect' }),
      headers: { 'content-type': 'application/vnd.api+json' },
    });
    expect(response.status).toBe(415);
    expect(response.body).toEqual(errorShape('UNSUPPORTED_MEDIA_TYPE'));
    expect(await countMessages()).toBe(before);
  });

  it('answers a body over the service limit (64 KiB) but under the gateway limit (1 MiB) with 413 naming the limit', async () => {
    const response = await call('POST', '/api/messages', { token: session.accessToken, body: { channel, body: 'x'.repeat(100_000) } });
    expect(response.status).toBe(413);
    expect(response.body).toEqual(errorShape('PAYLOAD_TOO_LARGE'));
    expect((response.body as { error: { message: string } }).error.message).toContain('65536 bytes');
  });

  it('answers bodies over the gateway limit (1 MiB) but under the edge limit (2 MiB) with 413, and every gateway stays in rotation', async () => {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const response = await call('POST', '/api/messages', { token: 'x', body: { channel, body: 'x'.repeat(1_500_000) } });
      expect({ attempt, status: response.status }).toEqual({ attempt, status: 413 });
      expect(response.body).toEqual(errorShape('PAYLOAD_TOO_LARGE'));
    }
    expect((await call('GET', '/api/health')).status).toBe(200);
  });

  describe('forged tokens', () => {
    let publicKeyPem: string;
    beforeAll(async () => {
      const jwks = await call<{ keys: (Record<string, string> & { kid: string })[] }>('GET', '/api/auth/.well-known/jwks.json');
      publicKeyPem = createPublicKey({ key: jwks.body.keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    });

    const claims = () => ({ ...claimsOf(session.accessToken), role: 'admin' });
    const header = () => JSON.parse(Buffer.from(session.accessToken.split('.')[0]!, 'base64url').toString()) as { kid: string };

    it.each([
      ['alg none', () => `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: header().kid })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`],
      ['HS256 signed with the public key', () => jwt.sign(claims(), publicKeyPem, { algorithm: 'HS256', keyid: header().kid, noTimestamp: true })],
      ['a real token with its role changed', () => {
        const [head, , signature] = session.accessToken.split('.');
        return `${head}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.${signature}`;
      }],
      ['garbage', () => 'not-a-jwt'],
    ])('refuses %s with 401', async (_label, forge) => {
      const response = await call('GET', '/api/users', { token: forge() });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(errorShape('INVALID_TOKEN'));
    });
  });

  it('ignores identity headers a client sends, with or without a token', async () => {
    const spoofed = { 'x-user-id': session.id, 'x-user-role': 'admin', 'x-session-id': claimsOf(session.accessToken).sid as string };
    const anonymous = await call('GET', '/api/users/me', { headers: spoofed });
    expect(anonymous.status).toBe(401);
    const escalated = await call('GET', '/api/users', { token: session.accessToken, headers: spoofed });
    expect(escalated.status).toBe(403);
    const other = await newUser('impersonated');
    const me = await call<{ user: { id: string } }>('GET', '/api/users/me', { token: session.accessToken, headers: { 'x-user-id': other.id } });
    expect(me.body.user.id).toBe(session.id);
  });

  it('limits failed logins from one address, across the edge, but lets a browser that logged in before through', async () => {
    const { email, password } = await register(uniqueName('target'));
    const owner = await call('POST', '/api/auth/login', { body: { email, password } });
    const deviceCookie = owner.headers.getSetCookie().find((line) => line.startsWith('device_token='))?.split(';')[0];
    expect(deviceCookie).toBeDefined();

    const statuses: number[] = [];
    let limited;
    for (let attempt = 0; attempt < 11; attempt += 1) {
      const response = await call('POST', '/api/auth/login', { body: { email, password: `wrong-${attempt}` } });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
    expect(limited!.body).toEqual(errorShape('TOO_MANY_REQUESTS'));
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited!.headers.get('ratelimit-policy')).toBeTruthy();
    // The right password from this address, on a browser the account does not know: still refused.
    expect((await call('POST', '/api/auth/login', { body: { email, password } })).status).toBe(429);
    // The owner's browser, which logged in before, is not locked out by the failures.
    expect((await call('POST', '/api/auth/login', { body: { email, password }, cookies: deviceCookie })).status).toBe(200);
  });
});

import { createPrivateKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { expectErrorResponse, waitFor } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { createAuthWorld, login, registerAndLogin, verifyWithJwks, type AuthWorld } from './support';

interface Jwk {
  kid: string;
  [field: string]: unknown;
}

const jwksOf = async (url: string): Promise<Jwk[]> => {
  const res = await request(url).get('/api/auth/.well-known/jwks.json');
  expect(res.status).toBe(200);
  return res.body.keys as Jwk[];
};

const PUBLISH_LEAD_SECONDS = 3;
const kidOf = (accessToken: string) => jwt.decode(accessToken, { complete: true })?.header.kid;

describe('signing keys and JWKS', () => {
  let world: AuthWorld;
  let service: RunningService;

  beforeAll(async () => {
    world = await createAuthWorld('auth_keys');
    service = await world.start({
      SIGNING_KEY_CHECK_INTERVAL_MS: '1000',
      SIGNING_KEY_PUBLISH_LEAD_SECONDS: String(PUBLISH_LEAD_SECONDS),
      JWT_ISSUER: 'test-issuer',
      JWT_AUDIENCE: 'test-audience',
    });
  });

  afterAll(() => world.cleanUp());

  it('publishes only public RSA keys, and issued tokens verify against them', async () => {
    const keys = await jwksOf(service.url);
    expect(keys).toEqual([{ kty: 'RSA', kid: expect.any(String), alg: 'RS256', use: 'sig', n: expect.any(String), e: 'AQAB' }]);

    const client = await registerAndLogin(service.url);
    const header = jwt.decode(client.accessToken, { complete: true })?.header;
    expect(header).toMatchObject({ alg: 'RS256', kid: keys[0]!.kid });
    const claims = await verifyWithJwks(service.url, client.accessToken, { issuer: 'test-issuer', audience: 'test-audience' });
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'role', 'sid', 'sub']);
    expect(claims).toMatchObject({ iss: 'test-issuer', aud: 'test-audience', sub: client.userId, role: 'user', sid: client.identity.sessionId });

    const [head, payload, signature] = client.accessToken.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    await expect(verifyWithJwks(service.url, `${head}.${forged}.${signature}`, { issuer: 'test-issuer', audience: 'test-audience' })).rejects.toThrow(
      /invalid signature/,
    );
    await expect(verifyWithJwks(service.url, `${head}.${payload}.${signature}`)).rejects.toThrow(/audience invalid/);
  });

  it('keeps private keys encrypted at rest', async () => {
    const { rows } = await service.pool.query<{ private_key_encrypted: string }>('SELECT private_key_encrypted FROM signing_keys');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.private_key_encrypted).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      const ciphertext = Buffer.from(row.private_key_encrypted.split('.')[3]!, 'base64url');
      expect(() => createPrivateKey({ key: ciphertext, format: 'der', type: 'pkcs8' })).toThrow();
    }
  });

  it('refuses to start when the stored key cannot be decrypted with KEY_ENCRYPTION_SECRET', async () => {
    await expect(world.start({ KEY_ENCRYPTION_SECRET: 'another-secret-that-is-long-enough-32' })).rejects.toThrow(/KEY_ENCRYPTION_SECRET/);
  });

  it('publishes the next key before it signs with it, then keeps the retired key published while its tokens live', async () => {
    const before = await jwksOf(service.url);
    const oldKid = before[0]!.kid;
    const client = await registerAndLogin(service.url);
    await service.pool.query(`UPDATE signing_keys SET activates_at = now() - interval '31 days' WHERE kid = $1`, [oldKid]);

    // The periodic check (every second here) notices the key is due and publishes the next one.
    const after = await waitFor(
      async () => {
        const keys = await jwksOf(service.url);
        return keys.length === 2 ? keys : undefined;
      },
      { what: 'the next key in the JWKS', timeoutMs: 5_000 },
    );
    expect(after[1]!.kid).toBe(oldKid);
    const newKid = after[0]!.kid;
    expect(newKid).not.toBe(oldKid);
    // Published, but not signing yet: a verifier that re-reads the JWKS now knows it in time.
    expect(kidOf((await login(service.url, client.account)).accessToken)).toBe(oldKid);

    const fresh = await waitFor(
      async () => {
        const signedIn = await login(service.url, client.account);
        return kidOf(signedIn.accessToken) === newKid ? signedIn : undefined;
      },
      { what: 'tokens signed with the next key', timeoutMs: (PUBLISH_LEAD_SECONDS + 3) * 1_000 },
    );
    const options = { issuer: 'test-issuer', audience: 'test-audience' };
    await verifyWithJwks(service.url, fresh.accessToken, options);
    await verifyWithJwks(service.url, client.accessToken, options);
    const { rows } = await service.pool.query<{ kid: string; retired: boolean }>(
      'SELECT kid, retired_at IS NOT NULL AS retired FROM signing_keys ORDER BY activates_at DESC',
    );
    expect(rows).toEqual([
      { kid: newKid, retired: false },
      { kid: oldKid, retired: true },
    ]);
    expect((await jwksOf(service.url)).map((key) => key.kid)).toEqual([newKid, oldKid]);

    await service.pool.query(`UPDATE signing_keys SET retired_at = now() - interval '2 hours' WHERE kid = $1`, [oldKid]);
    expect((await jwksOf(service.url)).map((key) => key.kid)).toEqual([newKid]);
    await expect(verifyWithJwks(service.url, client.accessToken, options)).rejects.toThrow(/not in the JWKS/);
  });
});

describe('replicas starting together', () => {
  let world: AuthWorld;
  // With no publish lead, a rotation completes within one check.
  const admin = { ADMIN_EMAIL: 'Root@Example.com', ADMIN_PASSWORD: 'admin password 1', ADMIN_USERNAME: 'root', SIGNING_KEY_PUBLISH_LEAD_SECONDS: '0' };

  beforeAll(async () => {
    world = await createAuthWorld('auth_replicas');
  });

  afterAll(() => world.cleanUp());

  it('agree on one signing key and seed the admin once, also across restarts', async () => {
    const [first, second] = await Promise.all([world.start(admin), world.start(admin)]);
    const third = await world.start(admin);
    const { pool } = first!;

    const keys = await pool.query('SELECT kid FROM signing_keys WHERE retired_at IS NULL');
    expect(keys.rowCount).toBe(1);
    for (const replica of [first!, second!, third]) expect((await jwksOf(replica.url)).map((key) => key.kid)).toEqual([keys.rows[0].kid]);

    const admins = await pool.query(`SELECT user_id, email, username, role FROM credentials`);
    expect(admins.rows).toEqual([{ user_id: expect.any(String), email: 'root@example.com', username: 'root', role: 'admin' }]);
    const events = await pool.query(`SELECT envelope FROM outbox WHERE type = 'user.registered'`);
    expect(events.rows.map((row) => row.envelope.data)).toEqual([
      { id: admins.rows[0].user_id, email: 'root@example.com', username: 'root', displayName: 'root', role: 'admin' },
    ]);

    const client = await login(second!.url, { email: 'root@example.com', password: 'admin password 1' });
    expect(client.identity.role).toBe('admin');
    await verifyWithJwks(third.url, client.accessToken);

    // A key falls due: replicas checking at the same moment rotate it once.
    await pool.query(`UPDATE signing_keys SET activates_at = now() - interval '31 days'`);
    await Promise.all([first!, second!, third].map((replica) => replica.keys.refresh()));
    const all = await pool.query('SELECT kid, retired_at IS NULL AS active FROM signing_keys ORDER BY activates_at');
    expect(all.rows.map((row) => row.active)).toEqual([false, true]);
    const active = all.rows[1].kid as string;
    for (const replica of [first!, second!, third]) expect(replica.keys.current().kid).toBe(active);
  });

  it('leaves an existing account alone when ADMIN_EMAIL belongs to it', async () => {
    const service = world.services[0]!;
    const user = await registerAndLogin(service.url);
    await world.start({ ADMIN_EMAIL: user.account.email, ADMIN_PASSWORD: 'something else 1' });
    const { rows } = await service.pool.query('SELECT role FROM credentials WHERE user_id = $1', [user.userId]);
    expect(rows[0].role).toBe('user');
    expectErrorResponse(await request(service.url).post('/api/auth/login').send({ email: user.account.email, password: 'something else 1' }), 401, 'INVALID_CREDENTIALS');
  });
});

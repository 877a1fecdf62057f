import { performance } from 'node:perf_hooks';
import request from 'supertest';
import type { RunningService } from '../src/service';
import { createAuthWorld, newAccount, register, type AuthWorld } from './support';

// The production cost, so that a skipped bcrypt compare would stand out from the noise.
let world: AuthWorld;
let service: RunningService;

beforeAll(async () => {
  world = await createAuthWorld('auth_timing');
  service = await world.start({ BCRYPT_COST: undefined });
});

afterAll(() => world.cleanUp());

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function timedLogin(email: string, password: string) {
  const started = performance.now();
  const res = await request(service.url).post('/api/auth/login').send({ email, password });
  return { ms: performance.now() - started, status: res.status, body: { error: { ...res.body.error, requestId: undefined } } };
}

it('hashes with the default cost of 12', async () => {
  const res = await register(service.url, newAccount());
  const { rows } = await service.pool.query('SELECT password_hash FROM credentials WHERE user_id = $1', [res.body.user.id]);
  expect(rows[0].password_hash).toMatch(/^\$2b\$12\$/);
});

it('takes as long and answers the same for an unknown email as for a wrong password', async () => {
  const account = newAccount();
  await register(service.url, account);
  const unknownEmail: number[] = [];
  const wrongPassword: number[] = [];
  for (let sample = 0; sample < 5; sample += 1) {
    const unknown = await timedLogin(newAccount().email, account.password);
    const wrong = await timedLogin(account.email, 'not the password');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    unknownEmail.push(unknown.ms);
    wrongPassword.push(wrong.ms);
  }
  const ratio = median(unknownEmail) / median(wrongPassword);
  // Generous bounds for a shared machine; without the dummy compare the ratio would be near 0.01.
  expect(ratio).toBeGreaterThan(0.5);
  expect(ratio).toBeLessThan(2);
});

import { ConfigError, parseConfig, type Env } from '@board/service-kit';
import { configShape } from '../src/config';

const parse = (env: Env) => parseConfig(configShape(env), env);

const problemsOf = (env: Env): string => {
  try {
    parse(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('the configuration was accepted');
};

const production = { NODE_ENV: 'production', KEY_ENCRYPTION_SECRET: 'a-production-secret-of-32-characters!' };

describe('auth-service configuration', () => {
  it('runs against the local servers with no configuration', () => {
    expect(parse({})).toMatchObject({
      PORT: 3001,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/auth',
      REDIS_URL: 'redis://127.0.0.1:6379',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      EVENTS_EXCHANGE: 'domain.events',
      REDIS_KEY_PREFIX: '',
      JWT_ISSUER: 'message-board-auth',
      JWT_AUDIENCE: 'message-board',
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_SECONDS: 30 * 86_400,
      SIGNING_KEY_ROTATION_DAYS: 30,
      SESSION_CLEANUP_INTERVAL_MS: 3_600_000,
      ADMIN_USERNAME: 'admin',
    });
  });

  it('hashes with bcrypt cost 12 by default, refuses less in production and allows 4 elsewhere', () => {
    expect(parse({}).BCRYPT_COST).toBe(12);
    expect(parse(production).BCRYPT_COST).toBe(12);
    expect(problemsOf({ ...production, BCRYPT_COST: '11' })).toMatch(/^BCRYPT_COST: /m);
    expect(parse({ NODE_ENV: 'test', BCRYPT_COST: '4' }).BCRYPT_COST).toBe(4);
    expect(problemsOf({ BCRYPT_COST: '3' })).toMatch(/^BCRYPT_COST: /m);
  });

  it('requires KEY_ENCRYPTION_SECRET in production and has a development default elsewhere', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toMatch(/^KEY_ENCRYPTION_SECRET: is required/m);
    expect(problemsOf({ ...production, KEY_ENCRYPTION_SECRET: 'too-short' })).toMatch(/^KEY_ENCRYPTION_SECRET: must be at least 32/m);
    expect(parse({}).KEY_ENCRYPTION_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it('caps the access-token lifetime at an hour, the lifetime of a Redis revocation', () => {
    expect(parse({ ACCESS_TOKEN_TTL_SECONDS: '3600' }).ACCESS_TOKEN_TTL_SECONDS).toBe(3_600);
    expect(problemsOf({ ACCESS_TOKEN_TTL_SECONDS: '3601' })).toMatch(/^ACCESS_TOKEN_TTL_SECONDS: /m);
  });

  it('checks the admin account settings', () => {
    expect(parse({ ADMIN_EMAIL: 'Root@Example.COM' }).ADMIN_EMAIL).toBe('root@example.com');
    const problems = problemsOf({ ADMIN_EMAIL: 'nope', ADMIN_PASSWORD: 'x'.repeat(73), ADMIN_USERNAME: 'no spaces allowed' });
    expect(problems).toMatch(/^ADMIN_EMAIL: /m);
    expect(problems).toMatch(/^ADMIN_PASSWORD: must be 8 to 72 bytes/m);
    expect(problems).toMatch(/^ADMIN_USERNAME: /m);
  });
});

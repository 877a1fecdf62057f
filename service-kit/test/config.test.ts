import { z } from 'zod';
import { ConfigError, commonSettings, databaseUrl, parseConfig, port, secret, type Env } from '../src/config';

const shape = (env: Env) => ({
  ...commonSettings,
  PORT: port(3001),
  DATABASE_URL: databaseUrl('auth'),
  JWT_SECRET: secret(env, 'development-only-secret'),
  FLAG: z.stringbool().default(false),
});

describe('parseConfig', () => {
  it('applies localhost defaults in development', () => {
    const config = parseConfig(shape({}), {});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      PORT: 3001,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/auth',
      JWT_SECRET: 'development-only-secret',
      FLAG: false,
    });
  });

  it('coerces and accepts explicit values', () => {
    const env = { PORT: '4000', LOG_LEVEL: 'debug', FLAG: 'true', DATABASE_URL: 'postgresql://u:p@db:5432/x' };
    expect(parseConfig(shape(env), env)).toMatchObject({ PORT: 4000, LOG_LEVEL: 'debug', FLAG: true });
  });

  it('names each bad variable and says why', () => {
    const env = { PORT: '70000', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' };
    let error: unknown;
    try {
      parseConfig(shape(env), env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: /m);
    expect(problems).toMatch(/^LOG_LEVEL: /m);
    expect(problems).toMatch(/^DATABASE_URL: must be a URL starting with postgres:\/\/ or postgresql:\/\//m);
  });

  it('has no default for secrets in production', () => {
    const env = { NODE_ENV: 'production' };
    expect(() => parseConfig(shape(env), env)).toThrow(/JWT_SECRET: is required/);
    const withSecret = { ...env, JWT_SECRET: 'a-real-production-secret' };
    expect(parseConfig(shape(withSecret), withSecret).JWT_SECRET).toBe('a-real-production-secret');
  });

  it('treats an empty variable as unset', () => {
    const env = { PORT: '' };
    expect(parseConfig(shape(env), env).PORT).toBe(3001);
  });
});

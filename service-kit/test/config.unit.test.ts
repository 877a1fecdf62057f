import { z } from 'zod';
import { ConfigError, amqpUrl, commonSettings, connectionPassword, databaseUrl, parseConfig, port, secret, type Env } from '../src/runtime/config';

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
      HOST: '127.0.0.1',
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

describe('connection passwords (DATABASE_PASSWORD, AMQP_PASSWORD)', () => {
  const connectionShape = {
    DATABASE_URL: databaseUrl('auth'),
    DATABASE_PASSWORD: connectionPassword(),
    AMQP_URL: amqpUrl(),
    AMQP_PASSWORD: connectionPassword(),
  };
  const problemsOf = (env: Env) => {
    try {
      parseConfig(connectionShape, env);
    } catch (error) {
      return (error as ConfigError).problems.join('\n');
    }
    throw new Error('expected a ConfigError');
  };

  it('keeps every URL-reserved character of a password as it is', () => {
    const password = 'p/a+s=s#w@o:r?d%20';
    const env = { DATABASE_PASSWORD: password, AMQP_PASSWORD: password, DATABASE_URL: 'postgres://auth@db:5432/auth', AMQP_URL: 'amqp://board@mq:5672' };
    expect(parseConfig(connectionShape, env)).toMatchObject({ DATABASE_PASSWORD: password, AMQP_PASSWORD: password });
  });

  it('is optional, an empty one counting as unset', () => {
    const config = parseConfig(connectionShape, { DATABASE_PASSWORD: '', AMQP_PASSWORD: '' });
    expect(config).not.toHaveProperty('DATABASE_PASSWORD');
    expect(config).not.toHaveProperty('AMQP_PASSWORD');
  });

  it('refuses control characters, naming the variable', () => {
    expect(problemsOf({ DATABASE_PASSWORD: 'secret\n' })).toMatch(/^DATABASE_PASSWORD: must not contain control characters/m);
    expect(problemsOf({ AMQP_PASSWORD: 'sec\u0000ret' })).toMatch(/^AMQP_PASSWORD: must not contain control characters/m);
  });

  it('points at the password variable when a password breaks the URL', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://auth:pa/ss#1@db:5432/auth', AMQP_URL: 'amqp://board:pa?ss@mq:5672' });
    expect(problems).toMatch(/^DATABASE_URL: must be a URL .* belongs in DATABASE_PASSWORD, not in the URL\)$/m);
    expect(problems).toMatch(/^AMQP_URL: must be a URL .* belongs in AMQP_PASSWORD, not in the URL\)$/m);
  });
});

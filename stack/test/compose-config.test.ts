import path from 'node:path';
import type { ZodRawShape } from 'zod';
import { parseConfig, type ConfigShape, type Env } from '@board/service-kit';
import { configShape as authShape } from '../../auth-service/src/config';
import { configShape as userShape } from '../../user-service/src/config';
import { configShape as messageShape } from '../../message-service/src/config';
import { configShape as realtimeShape } from '../../realtime-service/src/config';
import { configShape as gatewayShape } from '../../api-gateway/src/config';
import { loadCompose } from '../src/compose';
import { PRODUCTION_FILES, TEST_SECRETS, envExample, mergedConfig } from './support/compose-cli';
import { ROOT } from '../src/stack';

const SHAPES: Record<string, ConfigShape<ZodRawShape>> = {
  'auth-service': authShape,
  'user-service': userShape,
  'message-service': messageShape,
  'realtime-service': realtimeShape,
  'api-gateway': gatewayShape,
};

/** Variables that Node itself reads, not the service's configuration. */
const READ_BY_NODE = new Set(['NODE_OPTIONS']);

/** Parses what compose gives each service with that service's own config schema. */
function parseEach(dotEnv: Env) {
  const compose = loadCompose(path.join(ROOT, 'docker-compose.yml'), dotEnv);
  return [...compose.values()]
    .filter((service) => service.workspace)
    .map((service) => {
      const shape = SHAPES[service.name]!(service.environment);
      return { service: service.name, env: service.environment, shape, parse: () => parseConfig(shape, service.environment) };
    });
}

describe('docker-compose.yml against each service\'s configuration schema', () => {
  it('has a schema for every service it runs', () => {
    expect(parseEach({}).map((entry) => entry.service).sort()).toEqual(Object.keys(SHAPES).sort());
  });

  it.each(parseEach({}).map((entry) => [entry.service, entry]))('%s starts with the development defaults (no .env)', (_name, entry) => {
    expect(entry.parse).not.toThrow();
  });


  it.each(parseEach({ NODE_ENV: 'production' }).map((entry) => [entry.service, entry]))(
    '%s refuses to start in production without its secrets, or starts when it needs none',
    (name, entry) => {
      const needsSecrets = ['auth-service', 'user-service'].includes(name as string);
      if (needsSecrets) expect(entry.parse).toThrow(/is required/);
      else expect(entry.parse).not.toThrow();
    },
  );

  it.each(parseEach({}).map((entry) => [entry.service, entry]))('%s: compose sets no variable the service does not read', (_name, entry) => {
    expect(Object.keys(entry.env).filter((key) => !(key in entry.shape) && !READ_BY_NODE.has(key))).toEqual([]);
  });
});

describe('docker-compose.yml with docker-compose.prod.yml, against each service\'s configuration schema', () => {
  // What compose itself gives each container, from a .env made of .env.example and the secrets.
  const merged = mergedConfig(PRODUCTION_FILES, { ...envExample(), ...TEST_SECRETS });
  const entries = Object.keys(SHAPES).map((name) => {
    const env = Object.fromEntries(Object.entries(merged[name]!.environment ?? {}).map(([key, value]) => [key, value ?? '']));
    const shape = SHAPES[name]!(env);
    return [name, { env, shape, parse: () => parseConfig(shape, env) }] as const;
  });

  it.each(entries)('%s starts in production with the secrets a .env made from .env.example holds', (_name, entry) => {
    expect(entry.env.NODE_ENV).toBe('production');
    expect(entry.parse).not.toThrow();
  });

  it.each(entries)('%s: compose sets no variable the service does not read', (_name, entry) => {
    expect(Object.keys(entry.env).filter((key) => !(key in entry.shape) && !READ_BY_NODE.has(key))).toEqual([]);
  });

  it('gives each database service its own password, and the broker password to each broker user', () => {
    const env = (name: string) => Object.fromEntries(entries)[name]!.env;
    expect(env('auth-service').DATABASE_PASSWORD).toBe(TEST_SECRETS.AUTH_DATABASE_PASSWORD);
    expect(env('user-service').DATABASE_PASSWORD).toBe(TEST_SECRETS.USERS_DATABASE_PASSWORD);
    expect(env('message-service').DATABASE_PASSWORD).toBe(TEST_SECRETS.MESSAGES_DATABASE_PASSWORD);
    for (const name of ['auth-service', 'user-service', 'message-service', 'realtime-service']) expect(env(name).AMQP_PASSWORD).toBe(TEST_SECRETS.RABBITMQ_PASSWORD);
    expect(merged.postgres!.environment).toMatchObject({
      AUTH_DATABASE_PASSWORD: TEST_SECRETS.AUTH_DATABASE_PASSWORD,
      USERS_DATABASE_PASSWORD: TEST_SECRETS.USERS_DATABASE_PASSWORD,
      MESSAGES_DATABASE_PASSWORD: TEST_SECRETS.MESSAGES_DATABASE_PASSWORD,
    });
    expect(merged.rabbitmq!.environment?.RABBITMQ_DEFAULT_PASS).toBe(TEST_SECRETS.RABBITMQ_PASSWORD);
  });
});

import path from 'node:path';
import { interpolate, loadCompose, parseDotEnv } from '../src/compose';
import { planStack } from '../src/plan';
import { ROOT } from '../src/stack';

describe('compose interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A:-fallback}', {}, 'fallback'],
    ['${A:-fallback}', { A: '' }, 'fallback'],
    ['${A-fallback}', { A: '' }, ''],
    ['${A:-}', {}, ''],
    ['postgres://u:${P:-pw}@db/${DB}', { DB: 'auth' }, 'postgres://u:pw@db/auth'],
    ['cost $$5', {}, 'cost $5'],
  ])('%s with %j is %s', (value, env, expected) => {
    expect(interpolate(value, env)).toBe(expected);
  });

  it('fails on a required variable that is missing', () => {
    expect(() => interpolate('${SECRET:?set it in .env}', {})).toThrow('SECRET: set it in .env');
  });

  it('reads .env files like compose', () => {
    expect(parseDotEnv('# comment\nA=1\nB="two words"\n  C = three \nnot a line\n')).toEqual({ A: '1', B: 'two words', C: 'three' });
  });
});

describe('the local plan derived from docker-compose.yml', () => {
  const compose = loadCompose(path.join(ROOT, 'docker-compose.yml'), {});

  it('runs every workspace service compose builds, on compose ports', () => {
    const plan = planStack(compose);
    expect(Object.fromEntries(plan.services.map((service) => [service.name, service.port]))).toEqual({
      'api-gateway': 3000,
      'auth-service': 3001,
      'user-service': 3002,
      'message-service': 3003,
      'realtime-service': 3004,
    });
  });

  it('points compose host names at the local servers and shifts ports and names for an isolated run', () => {
    const servers = { postgres: 'postgres://postgres@127.0.0.1:5432', redis: 'redis://127.0.0.1:6379', amqp: 'amqp://guest:guest@127.0.0.1:5672' };
    const plan = planStack(compose, { portOffset: 100, namespace: 'e2e_x', servers });
    const auth = plan.services.find((service) => service.name === 'auth-service')!;
    expect(auth.env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/auth_e2e_x');
    expect(auth.env.AMQP_URL).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(auth.env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(auth.env.PORT).toBe('3101');
    expect(auth.env.REDIS_KEY_PREFIX).toBe('e2e_x:');
    expect(auth.env.EVENTS_EXCHANGE).toBe('e2e_x.domain.events');
    const gateway = plan.services.find((service) => service.name === 'api-gateway')!;
    expect(gateway.env.MESSAGE_SERVICE_URL).toBe('http://127.0.0.1:3103');
    expect(plan.edge.gatewayUpstreams).toEqual(['127.0.0.1:3100']);
    expect(plan.databases.sort()).toEqual(['auth_e2e_x', 'messages_e2e_x', 'users_e2e_x']);
  });

  it('keeps every other compose variable as compose sets it', () => {
    const plan = planStack(compose, { overrides: { LOG_LEVEL: 'debug' } });
    const gateway = plan.services.find((service) => service.name === 'api-gateway')!;
    expect(gateway.env).toMatchObject({ JWT_ISSUER: 'message-board-auth', TRUST_PROXY_HOPS: '1', LOG_LEVEL: 'debug' });
  });
});

import path from 'node:path';
import { interpolate, loadCompose, parseDotEnv } from '../src/compose';
import { parseScale, planStack } from '../src/plan';
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
    // The containers' passwords would replace the local servers' own credentials.
    expect(auth.env).not.toHaveProperty('DATABASE_PASSWORD');
    expect(auth.env).not.toHaveProperty('AMQP_PASSWORD');
    expect(auth.env.PORT).toBe('3101');
    // The services trust identity headers: locally they listen on loopback only.
    expect(plan.services.every((service) => service.env.HOST === '127.0.0.1')).toBe(true);
    expect(auth.env.REDIS_KEY_PREFIX).toBe('e2e_x:');
    expect(auth.env.EVENTS_EXCHANGE).toBe('e2e_x.domain.events');
    const gateway = plan.services.find((service) => service.name === 'api-gateway')!;
    expect(gateway.env.MESSAGE_SERVICE_URL).toBe('http://127.0.0.1:3103');
    expect(plan.edge.gatewayUpstreams).toEqual(['127.0.0.1:3100']);
    expect(plan.databases.sort()).toEqual(['auth_e2e_x', 'messages_e2e_x', 'users_e2e_x']);
  });

  it('runs replicas on ports of their own and lists every replica wherever compose names the service', () => {
    const plan = planStack(compose, { portOffset: 100, scale: parseScale('api-gateway=2,realtime-service=3') });
    const ports = (service: string) => plan.services.filter((replica) => replica.service === service).map((replica) => [replica.name, replica.port]);
    expect(ports('api-gateway')).toEqual([['api-gateway', 3100], ['api-gateway-2', 3110]]);
    expect(ports('realtime-service')).toEqual([['realtime-service', 3104], ['realtime-service-2', 3114], ['realtime-service-3', 3124]]);
    expect(ports('auth-service')).toEqual([['auth-service', 3101]]);
    const gateways = plan.services.filter((replica) => replica.service === 'api-gateway');
    for (const gateway of gateways) {
      expect(gateway.env.REALTIME_SERVICE_URL).toBe('http://127.0.0.1:3104,http://127.0.0.1:3114,http://127.0.0.1:3124');
      expect(gateway.env.AUTH_SERVICE_URL).toBe('http://127.0.0.1:3101');
      expect(gateway.env.PORT).toBe(String(gateway.port));
    }
    expect(plan.edge.gatewayUpstreams).toEqual(['127.0.0.1:3100', '127.0.0.1:3110']);
    expect(plan.databases.sort()).toEqual(['auth', 'messages', 'users']);
  });

  it('refuses a scale it cannot run', () => {
    expect(() => parseScale('api-gateway')).toThrow('--scale: "api-gateway" is not service=replicas');
    expect(() => planStack(compose, { scale: { 'no-such-service': 2 } })).toThrow('"no-such-service" is not a service');
    expect(() => planStack(compose, { scale: { 'api-gateway': 10 } })).toThrow('api-gateway takes 1 to 9 replicas, not 10');
    expect(() => planStack(compose, { scale: { 'api-gateway': 0 } })).toThrow('not 0');
  });

  it('keeps every other compose variable as compose sets it', () => {
    const plan = planStack(compose, { overrides: { LOG_LEVEL: 'debug' } });
    const gateway = plan.services.find((service) => service.name === 'api-gateway')!;
    expect(gateway.env).toMatchObject({ JWT_ISSUER: 'message-board-auth', TRUST_PROXY_HOPS: '1', LOG_LEVEL: 'debug' });
  });
});

import request from 'supertest';
import { createEvent } from '@board/service-kit';
import { type AnyEvent, type EventEnvelope } from '@board/service-kit/contracts';
import { TEST_AMQP_URL, TcpProxy, expectErrorResponse, publishRaw, sleep, waitFor, type EventObserver } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { createAuthWorld, asGateway, login, newAccount, refresh, registerAndLogin, type AuthWorld } from './support';

let world: AuthWorld;
let proxy: TcpProxy;
let service: RunningService;
let observer: EventObserver;
let observed: readonly AnyEvent[];

beforeAll(async () => {
  world = await createAuthWorld('auth_events');
  proxy = await world.proxy(TEST_AMQP_URL, { started: false });

  // Listens on the real broker for what auth-service publishes.
  observer = await world.observeEvents({ queue: 'observer', routingKeys: ['user.registered'] });
  // The observer's own array, which fills as events arrive.
  observed = observer.events;

  // auth-service reaches the broker only through the proxy, which is down for now.
  service = await world.start({ AMQP_URL: proxy.urlFor(TEST_AMQP_URL) }, {}, false);
});

afterAll(() => world.cleanUp());

const pendingInOutbox = async () => Number((await service.pool.query('SELECT count(*) FROM outbox WHERE published_at IS NULL')).rows[0].count);

/** The consumer's outcome counters, from /metrics. */
async function consumed(type: string, outcome: string): Promise<number> {
  const text = (await request(service.url).get('/metrics')).text;
  const line = text.split('\n').find((row) => row.startsWith('events_consumed_total{') && row.includes(`type="${type}"`) && row.includes(`outcome="${outcome}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const roleOf = async (userId: string) => (await service.pool.query('SELECT role FROM credentials WHERE user_id = $1', [userId])).rows[0]?.role as string | undefined;

it('registers while the broker is unreachable and publishes user.registered once it is back', async () => {
  const account = newAccount();
  const res = await request(service.url).post('/api/auth/register').send(account);
  expect(res.status).toBe(201);
  const ready = await request(service.url).get('/health/ready');
  expect(ready.status).toBe(503);
  expect(ready.body.checks.rabbitmq.status).toBe('failed');
  await sleep(300);
  expect(await pendingInOutbox()).toBe(1);
  expect(observed).toHaveLength(0);

  await proxy.start();
  const event = await waitFor(() => observed.find((candidate) => candidate.type === 'user.registered'), {
    what: 'user.registered after the broker came back',
    timeoutMs: 15_000,
  });
  const { id, email, username, displayName, role } = res.body.user;
  expect(event).toMatchObject({ producer: 'auth-service', data: { id, email, username, displayName, role } });
  expect(event.correlationId).toBe(res.headers['x-request-id']);
  await waitFor(async () => (await pendingInOutbox()) === 0, { what: 'the outbox to drain' });
  await sleep(200);
  expect(observed.filter((candidate) => candidate.type === 'user.registered')).toHaveLength(1);
  await waitFor(async () => (await request(service.url).get('/health/ready')).status === 200, { what: 'readiness' });
});

describe('consuming', () => {
  beforeAll(async () => {
    await proxy.start();
    await service.messaging.connection.waitForConnection(15_000);
  });

  it('removes a deleted user’s credentials and sessions, revokes the sessions in Redis, and handles a redelivery once', async () => {
    const laptop = await registerAndLogin(service.url);
    const phone = await login(service.url, laptop.account, 'phone');
    const event = createEvent('user-service', 'user.deleted', { id: laptop.userId });
    await publishRaw(world.topology, event.type, event);

    await waitFor(async () => (await roleOf(laptop.userId)) === undefined, { what: 'the credentials to go' });
    for (const device of [laptop, phone]) expect(await world.isSessionRevokedInRedis(device.identity.sessionId)).toBe(true);
    const sessions = await service.pool.query('SELECT 1 FROM sessions WHERE user_id = $1', [laptop.userId]);
    expect(sessions.rowCount).toBe(0);
    expectErrorResponse(await refresh(service.url, phone), 401, 'INVALID_REFRESH_TOKEN');
    expectErrorResponse(await request(service.url).post('/api/auth/login').send(laptop.account), 401, 'INVALID_CREDENTIALS');
    expectErrorResponse(await request(service.url).get('/api/auth/sessions').set(asGateway(laptop)), 401, 'SESSION_REVOKED');

    await publishRaw(world.topology, event.type, event);
    await waitFor(async () => (await consumed('user.deleted', 'duplicate')) === 1, { what: 'the redelivery' });
    expect(await consumed('user.deleted', 'handled')).toBe(1);
  });

  it('puts a changed role in the next tokens, ignores a redelivery and never lets an older change win', async () => {
    const client = await registerAndLogin(service.url);
    const publish = async (role: 'user' | 'member' | 'admin', previousRole: 'user' | 'member' | 'admin', occurredAt: Date) => {
      const event: EventEnvelope<'user.role_changed'> = {
        ...createEvent('user-service', 'user.role_changed', { id: client.userId, role, previousRole }),
        occurredAt: occurredAt.toISOString(),
      };
      await publishRaw(world.topology, event.type, event);
      return event;
    };

    const now = Date.now();
    const toMember = await publish('member', 'user', new Date(now - 2_000));
    await waitFor(async () => (await roleOf(client.userId)) === 'member', { what: 'the member role' });
    const refreshed = await refresh(service.url, client);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.user.role).toBe('member');
    expect((await login(service.url, client.account)).identity.role).toBe('member');

    await publish('admin', 'member', new Date(now));
    await waitFor(async () => (await roleOf(client.userId)) === 'admin', { what: 'the admin role' });
    const duplicatesBefore = await consumed('user.role_changed', 'duplicate');
    await publishRaw(world.topology, toMember.type, toMember);
    await publish('user', 'member', new Date(now - 1_000));
    await waitFor(async () => (await consumed('user.role_changed', 'duplicate')) === duplicatesBefore + 1, { what: 'the redelivery' });
    await waitFor(async () => (await consumed('user.role_changed', 'handled')) === 3, { what: 'the late change' });
    expect(await roleOf(client.userId)).toBe('admin');
    expect((await login(service.url, client.account)).identity.role).toBe('admin');
  });

  it('orders role changes by the user version, not by the producers\' clocks', async () => {
    const client = await registerAndLogin(service.url);
    const publish = async (role: 'user' | 'member' | 'admin', version: number, occurredAt: Date) => {
      const event = { ...createEvent('user-service', 'user.role_changed', { id: client.userId, role, previousRole: 'user' as const }, version), occurredAt: occurredAt.toISOString() };
      await publishRaw(world.topology, event.type, event);
      return event;
    };
    const handledBefore = await consumed('user.role_changed', 'handled');
    // Version 3 from a replica whose clock is behind, then the older version 2 from one ahead.
    await publish('admin', 3, new Date(Date.now() - 60_000));
    await publish('member', 2, new Date(Date.now() + 60_000));
    await waitFor(async () => (await consumed('user.role_changed', 'handled')) === handledBefore + 2, { what: 'both changes' });
    expect(await roleOf(client.userId)).toBe('admin');
  });
});

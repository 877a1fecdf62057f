import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createEvent } from '@board/service-kit';
import { type EventData } from '@board/service-kit/contracts';
import { publishRaw, waitFor, waitForDeadLetters } from '@board/service-kit/testing';
import { startTestService, type TestContext } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('user_events');
});

afterAll(async () => {
  await ctx.stop();
});

const registration = (overrides: Partial<EventData<'user.registered'>> = {}) => {
  const id = randomUUID();
  return createEvent('auth-service', 'user.registered', {
    id,
    email: `${id}@example.com`,
    username: `u_${id.slice(0, 8)}`,
    displayName: 'New Person',
    role: 'user',
    ...overrides,
  });
};

const profilesWithId = async (id: string) =>
  (await ctx.service.db.query('SELECT id, email, username, display_name, role FROM profiles WHERE id = $1', [id])).rows;

const waitForProfile = (id: string) =>
  waitFor(async () => ((await profilesWithId(id)).length === 1 ? true : undefined), { what: `the profile of ${id}` });

describe('user.registered', () => {
  it('creates the profile with the role the event carries (the seeded admin arrives as admin)', async () => {
    const event = registration({ role: 'admin', displayName: 'The Admin' });
    await publishRaw(ctx.topology, event.type, event);
    await waitForProfile(event.data.id);
    expect(await profilesWithId(event.data.id)).toEqual([
      { id: event.data.id, email: event.data.email, username: event.data.username, display_name: 'The Admin', role: 'admin' },
    ]);
    const res = await request(ctx.service.url).get('/api/users/me').set(ctx.as({ id: event.data.id, role: 'admin' }));
    expect(res.body.user).toMatchObject({ id: event.data.id, role: 'admin', displayName: 'The Admin' });
  });

  it('handles a redelivered event once: it neither duplicates nor undoes later changes', async () => {
    const event = registration();
    const { id } = event.data;
    await publishRaw(ctx.topology, event.type, event);
    await waitForProfile(id);
    const rename = await request(ctx.service.url).patch('/api/users/me').set(ctx.as({ id, role: 'user' })).send({ displayName: 'Renamed' });
    expect(rename.status).toBe(200);

    await publishRaw(ctx.topology, event.type, event);
    const marker = registration();
    await publishRaw(ctx.topology, marker.type, marker);
    await waitForProfile(marker.data.id); // one queue, handled in order: the duplicate went first
    expect(await profilesWithId(id)).toEqual([expect.objectContaining({ display_name: 'Renamed' })]);
  });

  it('does not bring a deleted user back when their registration is delivered again', async () => {
    const event = registration();
    const { id } = event.data;
    await publishRaw(ctx.topology, event.type, event);
    await waitForProfile(id);
    expect((await request(ctx.service.url).delete('/api/users/me').set(ctx.as({ id, role: 'user' }))).status).toBe(204);

    await publishRaw(ctx.topology, event.type, event);
    const marker = registration();
    await publishRaw(ctx.topology, marker.type, marker);
    await waitForProfile(marker.data.id);
    expect(await profilesWithId(id)).toEqual([]);
  });

  it('dead-letters poison messages and keeps handling the events behind them', async () => {
    const badData = { ...registration(), data: { id: randomUUID(), email: 42 } };
    await publishRaw(ctx.topology, 'user.registered', '{"this is": not json');
    await publishRaw(ctx.topology, 'user.registered', badData);
    const healthy = registration();
    await publishRaw(ctx.topology, healthy.type, healthy);

    await waitForProfile(healthy.data.id);
    const deadLetters = await waitForDeadLetters(ctx.topology, 'user-service', 2);
    expect(deadLetters).toHaveLength(2);
    expect(deadLetters).toContain('{"this is": not json');
    expect(deadLetters.some((body) => body.includes(badData.data.id))).toBe(true);
    expect(await profilesWithId(badData.data.id)).toEqual([]);
  });

  it('ignores events of types it does not consume', async () => {
    const stray = createEvent('auth-service', 'user.deleted', { id: randomUUID() });
    await publishRaw(ctx.topology, 'user.registered', stray);
    const marker = registration();
    await publishRaw(ctx.topology, marker.type, marker);
    await waitForProfile(marker.data.id);
    const claimed = await ctx.service.db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [stray.id]);
    expect(claimed.rowCount).toBe(0);
  });
});

describe('operations', () => {
  it('is ready when PostgreSQL, Redis and RabbitMQ answer', async () => {
    const res = await request(ctx.service.url).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      checks: { postgres: { status: 'ok' }, redis: { status: 'ok' }, rabbitmq: { status: 'ok' } },
    });
  });

  it('exposes consumer and outbox metrics labelled with the route pattern', async () => {
    await request(ctx.service.url).get(`/api/users/${randomUUID()}`).set(ctx.as({ id: randomUUID(), role: 'user' }));
    const text = (await request(ctx.service.url).get('/metrics')).text;
    expect(text).toMatch(/events_consumed_total\{[^}]*type="user.registered"[^}]*outcome="handled"[^}]*\} [1-9]/);
    expect(text).toContain('outbox_pending_events');
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/users\/:id"[^}]*status_code="404"/);
  });
});

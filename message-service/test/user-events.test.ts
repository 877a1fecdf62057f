import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createEvent } from '@board/service-kit';
import { type EventEnvelope } from '@board/service-kit/contracts';
import { publishRaw, waitFor, waitForDeadLetters } from '@board/service-kit/testing';
import { holdUserForWriting } from '../src/data/deleted-users';
import { insertMessage } from '../src/data/messages';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('message_events');
});

afterAll(async () => {
  await ctx.stop();
});

const handled = async (eventId: string) =>
  (await ctx.service.db.query('SELECT 1 FROM processed_events WHERE event_id = $1', [eventId])).rowCount === 1;

/** Publishes `event` and waits until message-service has handled it. */
async function deliver(event: EventEnvelope): Promise<void> {
  await publishRaw(ctx.topology, event.type, event);
  await waitFor(() => handled(event.id), { what: `${event.type} ${event.id} to be handled` });
}

async function post(author: { id: string; role: TestUser['role'] }, channel: string, body: string): Promise<string> {
  const res = await request(ctx.service.url).post('/api/messages').set(ctx.as(author)).send({ channel, body });
  expect(res.status).toBe(201);
  return res.body.message.id as string;
}

/** The author of `messageId` as a member sees it. */
async function authorSeenByMember(channel: string, messageId: string) {
  const viewer = { id: randomUUID(), role: 'member' as const };
  const res = await request(ctx.service.url).get('/api/messages').query({ channel }).set(ctx.as(viewer));
  return res.body.messages.find((message: { id: string }) => message.id === messageId)?.author;
}

const messagesBy = async (authorId: string) =>
  (await ctx.service.db.query('SELECT id FROM messages WHERE author_id = $1', [authorId])).rows.map((row) => row.id as string);

const outboxDeletions = async (messageId: string) =>
  (await ctx.service.db.query(`SELECT envelope FROM outbox WHERE type = 'message.deleted' AND envelope->'data'->>'id' = $1`, [messageId])).rows;

describe('authors from user.registered and user.updated', () => {
  it('shows members the names from the registration, then from each update', async () => {
    const id = randomUUID();
    const channel = 'names';
    const messageId = await post({ id, role: 'user' }, channel, 'posted before my registration event arrived');
    expect(await authorSeenByMember(channel, messageId)).toEqual({ id, username: null, displayName: null });

    await deliver(createEvent('auth-service', 'user.registered', { id, email: 'a@example.com', username: 'ada', displayName: 'Ada', role: 'user' }));
    expect(await authorSeenByMember(channel, messageId)).toEqual({ id, username: 'ada', displayName: 'Ada' });

    await deliver(createEvent('user-service', 'user.updated', { id, username: 'ada', displayName: 'Countess Ada' }));
    expect(await authorSeenByMember(channel, messageId)).toEqual({ id, username: 'ada', displayName: 'Countess Ada' });
  });

  it('keeps the newest name when events arrive out of order', async () => {
    const id = randomUUID();
    const channel = 'names';
    const messageId = await post({ id, role: 'member' }, channel, 'hello');
    const older = createEvent('user-service', 'user.updated', { id, username: 'bob', displayName: 'Old Bob' });
    const newer = { ...createEvent('user-service', 'user.updated', { id, username: 'bob', displayName: 'New Bob' }), occurredAt: new Date(Date.now() + 1_000).toISOString() };
    const registration = { ...createEvent('auth-service', 'user.registered', { id, email: 'b@example.com', username: 'bob', displayName: 'Bob', role: 'user' as const }), occurredAt: new Date(Date.now() - 60_000).toISOString() };

    await deliver(newer);
    await deliver(older);
    await deliver(registration);
    expect(await authorSeenByMember(channel, messageId)).toEqual({ id, username: 'bob', displayName: 'New Bob' });
  });
});

describe('author versions, not producers\' clocks', () => {
  it('When an update of a later user version carries an earlier time (another replica\'s clock), Then it still wins', async () => {
    const id = randomUUID();
    const channel = 'names';
    const messageId = await post({ id, role: 'member' }, channel, 'hello');
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    const registration = { ...createEvent('auth-service', 'user.registered', { id, email: 'c@example.com', username: 'cy', displayName: 'Cy', role: 'user' as const }, 1), occurredAt: at(5_000) };
    const second = { ...createEvent('user-service', 'user.updated', { id, username: 'cy', displayName: 'Cy the second' }, 2), occurredAt: at(10_000) };
    const third = { ...createEvent('user-service', 'user.updated', { id, username: 'cy', displayName: 'Cy the third' }, 3), occurredAt: at(-10_000) };
    await deliver(registration);
    await deliver(second);
    await deliver(third);
    expect(await authorSeenByMember(channel, messageId)).toEqual({ id, username: 'cy', displayName: 'Cy the third' });
    // And a late, lower version changes nothing, whatever its time.
    await deliver({ ...createEvent('user-service', 'user.updated', { id, username: 'cy', displayName: 'Cy the second, again' }, 2), occurredAt: at(60_000) });
    expect(await authorSeenByMember(channel, messageId)).toEqual({ id, username: 'cy', displayName: 'Cy the third' });
  });
});

describe('after a user is deleted', () => {
  it('When a late user.registered or user.updated arrives, Then the author does not come back', async () => {
    const id = randomUUID();
    await deliver(createEvent('user-service', 'user.deleted', { id }, 4));
    await deliver(createEvent('auth-service', 'user.registered', { id, email: 'd@example.com', username: 'dee', displayName: 'Dee', role: 'user' }, 1));
    await deliver(createEvent('user-service', 'user.updated', { id, username: 'dee', displayName: 'Dee again' }, 3));
    expect((await ctx.service.db.query('SELECT 1 FROM authors WHERE id = $1', [id])).rowCount).toBe(0);
  });

  it('When a post is in flight as the deletion arrives, Then the deletion waits for it and removes its message too', async () => {
    const author = { id: randomUUID(), role: 'member' as const };
    // A post that passed every check and has not committed yet, as board.post runs it.
    const inFlight = await ctx.service.db.pool.connect();
    try {
      await inFlight.query('BEGIN');
      await holdUserForWriting(inFlight, author.id);
      await insertMessage(inFlight, { id: randomUUID(), channel: 'general', authorId: author.id, body: 'in flight' });
      const deletion = createEvent('user-service', 'user.deleted', { id: author.id }, 2);
      await publishRaw(ctx.topology, deletion.type, deletion);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await handled(deletion.id)).toBe(false);
      await inFlight.query('COMMIT');
      await waitFor(() => handled(deletion.id), { what: 'the deletion, once the post committed' });
    } finally {
      inFlight.release();
    }
    expect(await messagesBy(author.id)).toEqual([]);

    const late = await request(ctx.service.url).post('/api/messages').set(ctx.as(author)).send({ channel: 'general', body: 'after' });
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe('SESSION_REVOKED');
    expect(await messagesBy(author.id)).toEqual([]);
  });
});

describe('user.deleted', () => {
  it('removes the user\'s messages once, announcing each, even when the event is delivered twice', async () => {
    const doomed = await ctx.seedUser('member');
    const bystander = await ctx.seedUser('member');
    const doomedMessages = [
      { id: await post(doomed, 'general', 'one'), channel: 'general' },
      { id: await post(doomed, 'random', 'two'), channel: 'random' },
      { id: await post(doomed, 'random', 'three'), channel: 'random' },
    ];
    const kept = await post(bystander, 'general', 'still here');
    const duplicatesBefore = await consumedCount('user.deleted', 'duplicate');

    const deletion = createEvent('user-service', 'user.deleted', { id: doomed.id });
    await publishRaw(ctx.topology, deletion.type, deletion);
    await publishRaw(ctx.topology, deletion.type, deletion);
    await waitFor(async () => (await consumedCount('user.deleted', 'duplicate')) === duplicatesBefore + 1, {
      what: 'the second delivery to be recognised as a duplicate',
    });

    expect(await messagesBy(doomed.id)).toEqual([]);
    expect(await messagesBy(bystander.id)).toEqual([kept]);
    expect((await ctx.service.db.query('SELECT 1 FROM authors WHERE id = $1', [doomed.id])).rowCount).toBe(0);
    for (const message of doomedMessages) {
      expect(await outboxDeletions(message.id)).toHaveLength(1);
      const seen = await waitFor(() => {
        const events = ctx.eventLog.about('message.deleted', message.id);
        return events.length > 0 ? events : undefined;
      }, { what: `message.deleted for ${message.id}` });
      expect(seen.map((event) => event.data)).toEqual([{ id: message.id, channel: message.channel }]);
      expect(seen[0]?.correlationId).toBe(deletion.correlationId);
    }
    expect(await outboxDeletions(kept)).toHaveLength(0);
  });

  it('handles a user with no messages', async () => {
    const deletion = createEvent('user-service', 'user.deleted', { id: randomUUID() });
    await deliver(deletion);
    expect(await consumedCount('user.deleted', 'handled')).toBeGreaterThanOrEqual(2);
  });
});

describe('poison events', () => {
  it('go to the dead-letter queue without blocking the events behind them', async () => {
    const author = await ctx.seedUser('user');
    const messageId = await post(author, 'general', 'survives the poison');
    const badData = { ...createEvent('user-service', 'user.deleted', { id: author.id }), data: { id: 'not-a-uuid' } };
    const noTime = { ...createEvent('user-service', 'user.updated', { id: author.id, username: 'x', displayName: 'Poisoned' }), occurredAt: 'yesterday' };
    await publishRaw(ctx.topology, 'user.deleted', '<html>not json</html>');
    await publishRaw(ctx.topology, 'user.deleted', badData);
    await publishRaw(ctx.topology, 'user.updated', noTime);
    const good = createEvent('user-service', 'user.updated', { id: author.id, username: author.username, displayName: 'Healthy' });
    await deliver(good);

    const deadLetters = await waitForDeadLetters(ctx.topology, 'message-service', 3);
    expect(deadLetters).toHaveLength(3);
    expect(deadLetters).toContain('<html>not json</html>');
    expect(deadLetters.some((body) => body.includes(badData.id))).toBe(true);
    expect(deadLetters.some((body) => body.includes(noTime.id))).toBe(true);
    expect(await messagesBy(author.id)).toEqual([messageId]);
    expect(await authorSeenByMember('general', messageId)).toEqual({ id: author.id, username: author.username, displayName: 'Healthy' });
    expect(await handled(noTime.id)).toBe(false);
  });
});

describe('operations', () => {
  it('is ready when PostgreSQL and RabbitMQ answer', async () => {
    const res = await request(ctx.service.url).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { postgres: { status: 'ok' }, rabbitmq: { status: 'ok' } } });
  });
});

async function consumedCount(type: string, outcome: string): Promise<number> {
  const text = (await request(ctx.service.url).get('/metrics')).text;
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith('events_consumed_total{') && candidate.includes(`type="${type}"`) && candidate.includes(`outcome="${outcome}"`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

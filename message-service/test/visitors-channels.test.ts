import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createEvent } from '@board/service-kit';
import { ROLES, type Role } from '@board/service-kit/contracts';
import { expectErrorResponse } from '@board/service-kit/testing';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('message_visitors');
});

afterAll(async () => {
  await ctx.stop();
});

const freshChannel = () => `v-${randomUUID().slice(0, 8)}`;

async function post(author: TestUser, channel: string, body = 'hello'): Promise<{ id: string; createdAt: string }> {
  const res = await request(ctx.service.url).post('/api/messages').set(ctx.as(author)).send({ channel, body });
  expect(res.status).toBe(201);
  return res.body.message;
}

const deleteMessage = async (id: string, who: TestUser) =>
  expect((await request(ctx.service.url).delete(`/api/messages/${id}`).set(ctx.as(who))).status).toBe(204);

async function channels(who?: { id: string; role: Role }) {
  const call = request(ctx.service.url).get('/api/channels');
  const res = await (who ? call.set(ctx.as(who)) : call);
  expect(res.status).toBe(200);
  return res.body.channels as { name: string; messageCount: number; lastMessageAt: string }[];
}

const channelNamed = async (name: string) => (await channels()).find((channel) => channel.name === name);

/** What counting would give: the list must always agree with it. */
async function countedByQuery() {
  const { rows } = await ctx.service.db.query<{ name: string; message_count: number; last_message_at: Date }>(
    'SELECT channel AS name, count(*)::int AS message_count, max(created_at) AS last_message_at FROM messages GROUP BY channel',
  );
  return new Map(rows.map((row) => [row.name, { messageCount: row.message_count, lastMessageAt: row.last_message_at.toISOString() }]));
}

async function expectListAgreesWithCount() {
  const listed = new Map((await channels()).map(({ name, ...rest }) => [name, rest]));
  expect(listed).toEqual(await countedByQuery());
}

describe('visitors reading messages', () => {
  it('When a visitor (no identity) reads a channel, Then every message has no author and no likedByMe, and the likes count', async () => {
    const channel = freshChannel();
    const [user, member] = [await ctx.seedUser('user'), await ctx.seedUser('member')];
    const mine = await post(user, channel, 'by a user');
    await post(member, channel, 'by a member');
    await request(ctx.service.url).put(`/api/messages/${mine.id}/like`).set(ctx.as(member));

    const res = await request(ctx.service.url).get('/api/messages').query({ channel, limit: 10 });
    expect(res.status).toBe(200);
    expect(res.body.messages).toEqual([
      { id: expect.any(String), channel, body: 'by a member', createdAt: expect.any(String), editedAt: null, author: null, likeCount: 0 },
      { id: mine.id, channel, body: 'by a user', createdAt: mine.createdAt, editedAt: null, author: null, likeCount: 1 },
    ]);
    expect(res.body.nextCursor).toBeNull();
    expect(JSON.stringify(res.body)).not.toContain(user.id);
    expect(JSON.stringify(res.body)).not.toContain(member.id);
    expect(JSON.stringify(res.body)).not.toContain(user.username);
  });

  it('When a visitor pages through a channel, Then cursors work as for anyone', async () => {
    const channel = freshChannel();
    const author = await ctx.seedUser('member');
    const posted = [];
    for (let index = 0; index < 3; index += 1) posted.push((await post(author, channel, `m${index}`)).id);
    const first = await request(ctx.service.url).get('/api/messages').query({ channel, limit: 2 });
    const second = await request(ctx.service.url).get('/api/messages').query({ channel, limit: 2, before: first.body.nextCursor });
    expect([...first.body.messages, ...second.body.messages].map((message: { id: string }) => message.id)).toEqual([...posted].reverse());
    expect(second.body.nextCursor).toBeNull();
  });

  it.each([
    ['a bad channel', { channel: 'Not A Slug' }],
    ['a bad limit', { limit: 'x' }],
    ['a made-up cursor', { before: 'xyz' }],
  ])('When a visitor reads with %s, Then it is 400 as for anyone', async (_label, query) => {
    expectErrorResponse(await request(ctx.service.url).get('/api/messages').query(query), 400, 'VALIDATION_FAILED');
  });

  it('When identity headers are present but incomplete or forged, Then a read is 401, not a visitor\'s', async () => {
    const member = await ctx.seedUser('member');
    const headers = ctx.as(member);
    const { 'x-session-id': _session, ...withoutSession } = headers;
    for (const path of ['/api/messages', '/api/channels']) {
      expectErrorResponse(await request(ctx.service.url).get(path).set(withoutSession), 401, 'UNAUTHORIZED');
      expectErrorResponse(await request(ctx.service.url).get(path).set({ ...headers, 'x-user-role': 'root' }), 401, 'UNAUTHORIZED');
      expectErrorResponse(await request(ctx.service.url).get(path).set({ 'x-user-role': 'admin' }), 401, 'UNAUTHORIZED');
    }
  });

  it('When a visitor tries to write, Then it is 401 and nothing changes', async () => {
    const message = await post(await ctx.seedUser('member'), freshChannel());
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await request(ctx.service.url).post('/api/messages').send({ body: 'anonymous' }), 401, 'UNAUTHORIZED');
      expectErrorResponse(await request(ctx.service.url).patch(`/api/messages/${message.id}`).send({ body: 'x' }), 401, 'UNAUTHORIZED');
      expectErrorResponse(await request(ctx.service.url).delete(`/api/messages/${message.id}`), 401, 'UNAUTHORIZED');
    });
  });
});

describe('GET /api/channels', () => {
  it('When messages are posted to channels, Then the list has each with its count and last activity, most recent first, for every role and visitors', async () => {
    const author = await ctx.seedUser('member');
    const [quiet, busy] = [freshChannel(), freshChannel()];
    await post(author, quiet);
    await post(author, busy);
    const last = await post(author, busy);
    const expected = [
      { name: busy, messageCount: 2, lastMessageAt: last.createdAt },
      { name: quiet, messageCount: 1, lastMessageAt: expect.any(String) },
    ];
    for (const who of [undefined, ...(await Promise.all(ROLES.map((role) => ctx.seedUser(role))))]) {
      const listed = await channels(who);
      expect(listed.slice(0, 2)).toEqual(expected);
    }
    await expectListAgreesWithCount();
  });

  it('When messages are deleted, Then the count drops, the last activity moves back, and an emptied channel leaves the list', async () => {
    const author = await ctx.seedUser('member');
    const channel = freshChannel();
    const first = await post(author, channel);
    const second = await post(author, channel);
    await deleteMessage(second.id, author);
    expect(await channelNamed(channel)).toEqual({ name: channel, messageCount: 1, lastMessageAt: first.createdAt });
    await deleteMessage(first.id, author);
    expect(await channelNamed(channel)).toBeUndefined();
    await expectListAgreesWithCount();
  });

  it('When a user is deleted, Then their messages come off every channel\'s count', async () => {
    const [leaver, stayer] = [await ctx.seedUser('user'), await ctx.seedUser('member')];
    const [shared, theirs] = [freshChannel(), freshChannel()];
    const kept = await post(stayer, shared);
    await post(leaver, shared);
    await post(leaver, theirs);
    await post(leaver, theirs);
    await ctx.deliver(createEvent('user-service', 'user.deleted', { id: leaver.id }, 2));
    expect(await channelNamed(shared)).toEqual({ name: shared, messageCount: 1, lastMessageAt: kept.createdAt });
    expect(await channelNamed(theirs)).toBeUndefined();
    await expectListAgreesWithCount();
  });

  it('When posts and deletions race in one channel, Then the count stays exact', async () => {
    const authors = await Promise.all(Array.from({ length: 10 }, () => ctx.seedUser('member')));
    const channel = freshChannel();
    const firstRound = await Promise.all(authors.map((author) => post(author, channel)));
    await Promise.all([
      ...authors.map((author, index) => deleteMessage(firstRound[index]!.id, author)),
      ...authors.map((author) => post(author, channel)),
    ]);
    expect((await channelNamed(channel))?.messageCount).toBe(10);
    await expectListAgreesWithCount();
  });

  it('is kept with the writes, not counted: a row inserted behind the service\'s back does not show', async () => {
    const author = await ctx.seedUser('member');
    const channel = freshChannel();
    await ctx.service.db.query(`INSERT INTO messages (id, channel, author_id, body) VALUES ($1, $2, $3, 'sneaked in')`, [randomUUID(), channel, author.id]);
    expect(await channelNamed(channel)).toBeUndefined();
    await ctx.service.db.query('DELETE FROM messages WHERE channel = $1', [channel]);
  });
});

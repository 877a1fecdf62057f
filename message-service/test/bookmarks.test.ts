import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createEvent, encodeCursor } from '@board/service-kit';
import { type Role } from '@board/service-kit/contracts';
import { expectErrorResponse } from '@board/service-kit/testing';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('message_bookmarks');
});

afterAll(async () => {
  await ctx.stop();
});

type Who = { id: string; role: Role } | undefined;
const withIdentity = (call: request.Test, who: Who) => (who ? call.set(ctx.as(who)) : call);
const put = (messageId: string, who: Who) => withIdentity(request(ctx.service.url).put(`/api/bookmarks/${messageId}`), who);
const remove = (messageId: string, who: Who) => withIdentity(request(ctx.service.url).delete(`/api/bookmarks/${messageId}`), who);
const list = (who: Who, query: Record<string, unknown> = {}) => withIdentity(request(ctx.service.url).get('/api/bookmarks').query(query), who);

async function post(author: TestUser, body = 'worth keeping'): Promise<{ id: string; channel: string }> {
  const res = await request(ctx.service.url).post('/api/messages').set(ctx.as(author)).send({ channel: 'keep', body });
  expect(res.status).toBe(201);
  return res.body.message;
}

/** Every bookmarked message id of `who`, newest bookmark first, following cursors `limit` at a time. */
async function allBookmarks(who: Who, limit = 2): Promise<string[]> {
  const ids: string[] = [];
  let before: string | null = null;
  do {
    const res: request.Response = await list(who, before === null ? { limit } : { limit, before });
    expect(res.status).toBe(200);
    expect(res.body.messages.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.messages.map((message: { id: string }) => message.id));
    before = res.body.nextCursor;
  } while (before !== null);
  return ids;
}

describe('who may bookmark', () => {
  it.each(['member', 'admin'] as const)('When a %s bookmarks, lists and unbookmarks, Then each answers and the list follows', async (role) => {
    const author = await ctx.seedUser('user');
    const message = await post(author);
    const owner = await ctx.seedUser(role);
    const added = await put(message.id, owner);
    expect(added.status).toBe(204);
    expect(added.text).toBe('');
    const listed = await list(owner);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      messages: [
        {
          id: message.id,
          channel: 'keep',
          body: 'worth keeping',
          createdAt: expect.any(String),
          editedAt: null,
          author: { id: author.id, username: author.username, displayName: author.displayName },
          likeCount: 0,
          likedByMe: false,
        },
      ],
      nextCursor: null,
    });
    expect((await remove(message.id, owner)).status).toBe(204);
    expect((await list(owner)).body).toEqual({ messages: [], nextCursor: null });
  });

  it.each([
    ['a user', 'user', 403, 'FORBIDDEN'],
    ['a visitor', undefined, 401, 'UNAUTHORIZED'],
  ] as const)('When %s uses any bookmark route, Then it is %i and nothing changes', async (_label, role, status, code) => {
    const message = await post(await ctx.seedUser('member'));
    const who = role ? await ctx.seedUser(role) : undefined;
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await put(message.id, who), status, code);
      expectErrorResponse(await remove(message.id, who), status, code);
      expectErrorResponse(await list(who), status, code);
    });
  });

  it('When identity headers are forged or incomplete, Then it is 401', async () => {
    const member = await ctx.seedUser('member');
    const headers = ctx.as(member);
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await request(ctx.service.url).get('/api/bookmarks').set({ ...headers, 'x-user-role': 'root' }), 401, 'UNAUTHORIZED');
      expectErrorResponse(await request(ctx.service.url).put(`/api/bookmarks/${randomUUID()}`).set({ 'x-user-id': member.id }), 401, 'UNAUTHORIZED');
    });
  });
});

describe('bad input', () => {
  it.each([
    ['an unknown message', (): string => randomUUID(), 404, 'NOT_FOUND'],
    ['an id that is not a UUID', (): string => 'bookmark-me', 400, 'VALIDATION_FAILED'],
    ['a number', (): string => '7', 400, 'VALIDATION_FAILED'],
  ] as const)('When a member bookmarks %s, Then it is %i and nothing changes', async (_label, id, status, code) => {
    const member = await ctx.seedUser('member');
    await ctx.expectNothingChanged(async () => expectErrorResponse(await put(id(), member), status, code));
  });

  it('When a member unbookmarks a message id that is not a UUID, Then it is 400; an unknown one is 204 and changes nothing', async () => {
    const member = await ctx.seedUser('member');
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await remove('nope', member), 400, 'VALIDATION_FAILED');
      expect((await remove(randomUUID(), member)).status).toBe(204);
    });
  });

  it.each([
    ['limit=0', { limit: '0' }],
    ['limit=-1', { limit: '-1' }],
    ['limit=1.5', { limit: '1.5' }],
    ['limit=many', { limit: 'many' }],
    ['two limits', { limit: ['1', '2'] }],
    ['a made-up cursor', { before: 'bm90IGEgY3Vyc29y' }],
    ['a cursor with a bad time', { before: encodeCursor({ createdAt: '2024-02-30T00:00:00.000000Z', id: randomUUID() }) }],
    ['a cursor with an upper-case id', { before: encodeCursor({ createdAt: '2024-02-01T00:00:00.000000Z', id: randomUUID().toUpperCase() }) }],
    ['two cursors', { before: ['a', 'b'] }],
  ])('When a member lists with %s, Then it is 400', async (_label, query) => {
    const member = await ctx.seedUser('member');
    const res = await list(member, query);
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details.length).toBeGreaterThan(0);
  });
});

describe('the list', () => {
  it('When a member bookmarks again, Then nothing changes: the first bookmark keeps its place', async () => {
    const member = await ctx.seedUser('member');
    const [older, newer] = [await post(member, 'older'), await post(member, 'newer')];
    await put(older.id, member);
    await put(newer.id, member);
    await ctx.expectNothingChanged(async () => expect((await put(older.id, member)).status).toBe(204));
    expect(await allBookmarks(member, 10)).toEqual([newer.id, older.id]);
  });

  it('When messages are bookmarked out of their order, Then the list is newest bookmark first, each page once, across cursors', async () => {
    const member = await ctx.seedUser('member');
    const messages: { id: string }[] = [];
    for (let index = 0; index < 5; index += 1) messages.push(await post(member, `message ${index}`));
    const order = [3, 0, 4, 1, 2].map((index) => messages[index]!.id);
    for (const id of order) expect((await put(id, member)).status).toBe(204);
    expect(await allBookmarks(member, 2)).toEqual([...order].reverse());
    expect(await allBookmarks(member, 1)).toEqual([...order].reverse());
    // More than 100 is served as 100.
    expect((await list(member, { limit: 1_000 })).body.messages).toHaveLength(5);
  });

  it('When two members bookmark, Then each sees only their own list, with their own view of each message, and neither can remove the other', async () => {
    const author = await ctx.seedUser('user');
    const message = await post(author);
    const [mine, theirs] = [await ctx.seedUser('member'), await ctx.seedUser('admin')];
    await put(message.id, mine);
    const own = await post(mine);
    await put(own.id, mine);
    await request(ctx.service.url).put(`/api/messages/${message.id}/like`).set(ctx.as(theirs));

    expect(await allBookmarks(theirs)).toEqual([]);
    // "Someone else's bookmark": the route names only the caller's own, so this removes nothing.
    await ctx.expectNothingChanged(async () => expect((await remove(message.id, theirs)).status).toBe(204));
    const listed = (await list(mine)).body.messages;
    expect(listed.map((m: { id: string }) => m.id)).toEqual([own.id, message.id]);
    expect(listed[1]).toMatchObject({ likeCount: 1, likedByMe: false, author: { id: author.id } });
    await put(message.id, theirs);
    expect((await list(theirs)).body.messages[0]).toMatchObject({ id: message.id, likeCount: 1, likedByMe: true });
  });

  it('When a bookmarked message is deleted, Then it leaves every list', async () => {
    const author = await ctx.seedUser('member');
    const message = await post(author);
    const keepers = [await ctx.seedUser('member'), await ctx.seedUser('admin')];
    for (const keeper of keepers) await put(message.id, keeper);
    expect((await request(ctx.service.url).delete(`/api/messages/${message.id}`).set(ctx.as(author))).status).toBe(204);
    for (const keeper of keepers) expect(await allBookmarks(keeper)).toEqual([]);
    expect((await ctx.service.db.query('SELECT 1 FROM bookmarks WHERE message_id = $1', [message.id])).rowCount).toBe(0);
  });

  it('When a member is deleted, Then their bookmarks go, and bookmarks of their messages leave everyone else\'s list', async () => {
    const leaver = await ctx.seedUser('member');
    const stayer = await ctx.seedUser('member');
    const [theirMessage, otherMessage] = [await post(leaver), await post(stayer)];
    await put(otherMessage.id, leaver);
    await put(theirMessage.id, stayer);
    await put(otherMessage.id, stayer);
    await ctx.deliver(createEvent('user-service', 'user.deleted', { id: leaver.id }, 2));
    expect((await ctx.service.db.query('SELECT 1 FROM bookmarks WHERE user_id = $1', [leaver.id])).rowCount).toBe(0);
    expect(await allBookmarks(stayer)).toEqual([otherMessage.id]);
    // Their token may outlive them by a few minutes: a bookmark then is refused.
    await ctx.expectNothingChanged(async () => expectErrorResponse(await put(otherMessage.id, leaver), 401, 'SESSION_REVOKED'));
  });
});

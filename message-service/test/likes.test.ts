import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createEvent } from '@board/service-kit';
import { type EventEnvelope, type Role } from '@board/service-kit/contracts';
import { expectErrorResponse, waitFor } from '@board/service-kit/testing';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('message_likes');
});

afterAll(async () => {
  await ctx.stop();
});

const freshChannel = () => `likes-${randomUUID().slice(0, 8)}`;

async function post(author: TestUser, channel = freshChannel()): Promise<{ id: string; channel: string }> {
  const res = await request(ctx.service.url).post('/api/messages').set(ctx.as(author)).send({ channel, body: 'like me' });
  expect(res.status).toBe(201);
  return res.body.message;
}

const like = (id: string, who?: { id: string; role: Role }) => {
  const call = request(ctx.service.url).put(`/api/messages/${id}/like`);
  return who ? call.set(ctx.as(who)) : call;
};
const unlike = (id: string, who?: { id: string; role: Role }) => {
  const call = request(ctx.service.url).delete(`/api/messages/${id}/like`);
  return who ? call.set(ctx.as(who)) : call;
};

/** The message as `viewer` (undefined: a visitor) finds it in its channel. */
async function seenBy(viewer: { id: string; role: Role } | undefined, message: { id: string; channel: string }) {
  const call = request(ctx.service.url).get('/api/messages').query({ channel: message.channel });
  const res = await (viewer ? call.set(ctx.as(viewer)) : call);
  expect(res.status).toBe(200);
  return res.body.messages.find((found: { id: string }) => found.id === message.id);
}

const storedCount = async (id: string) => {
  const { rows } = await ctx.service.db.query('SELECT like_count, (SELECT count(*)::int FROM likes WHERE message_id = $1) AS rows FROM messages WHERE id = $1', [id]);
  return rows[0] as { like_count: number; rows: number };
};

const likeEvents = (id: string) => ctx.eventLog.about('message.likes_changed', id) as EventEnvelope<'message.likes_changed'>[];

describe('who may like', () => {
  it.each(['member', 'admin'] as const)('When a %s likes a message, Then it counts, their view says likedByMe, and message.likes_changed goes out', async (role) => {
    const author = await ctx.seedUser('user');
    const message = await post(author);
    const liker = await ctx.seedUser(role);
    const res = await like(message.id, liker).set('X-Request-Id', `like-${liker.id}`);
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ id: message.id, likeCount: 1, likedByMe: true });
    expect(res.body.message.author).toEqual({ id: author.id, username: author.username, displayName: author.displayName });
    expect(await storedCount(message.id)).toEqual({ like_count: 1, rows: 1 });
    const [event] = await waitFor(() => (likeEvents(message.id).length === 1 ? likeEvents(message.id) : undefined), { what: 'message.likes_changed' });
    expect(event).toMatchObject({
      producer: 'message-service',
      correlationId: `like-${liker.id}`,
      aggregateVersion: 2,
      data: { id: message.id, channel: message.channel, likeCount: 1 },
    });
    expect(Object.keys(event!.data).sort()).toEqual(['channel', 'id', 'likeCount']);
  });

  it('When a user tries to like or unlike, Then it is 403 and nothing changes', async () => {
    const message = await post(await ctx.seedUser('member'));
    const user = await ctx.seedUser('user');
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await like(message.id, user), 403, 'FORBIDDEN');
      expectErrorResponse(await unlike(message.id, user), 403, 'FORBIDDEN');
    });
  });

  it('When a visitor (no identity) tries to like or unlike, Then it is 401 and nothing changes', async () => {
    const message = await post(await ctx.seedUser('member'));
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await like(message.id), 401, 'UNAUTHORIZED');
      expectErrorResponse(await unlike(message.id), 401, 'UNAUTHORIZED');
    });
  });

  it.each([
    ['an unknown message', (): string => randomUUID(), 404, 'NOT_FOUND'],
    ['an id that is not a UUID', (): string => 'not-a-uuid', 400, 'VALIDATION_FAILED'],
    ['a number', (): string => '42', 400, 'VALIDATION_FAILED'],
  ] as const)('When a member likes or unlikes %s, Then it is %i and nothing changes', async (_label, id, status, code) => {
    const member = await ctx.seedUser('member');
    await ctx.expectNothingChanged(async () => {
      expectErrorResponse(await like(id(), member), status, code);
      expectErrorResponse(await unlike(id(), member), status, code);
    });
  });

  it('When the liker was deleted while their token still worked, Then the like is refused and nothing changes', async () => {
    const message = await post(await ctx.seedUser('member'));
    const gone = await ctx.seedUser('member');
    await ctx.deliver(createEvent('user-service', 'user.deleted', { id: gone.id }));
    await ctx.expectNothingChanged(async () => expectErrorResponse(await like(message.id, gone), 401, 'SESSION_REVOKED'));
  });
});

describe('idempotence and views', () => {
  it('When a member likes twice and unlikes twice, Then the count moves once each way and only the changes are announced', async () => {
    const message = await post(await ctx.seedUser('member'));
    const member = await ctx.seedUser('member');
    expect((await like(message.id, member)).body.message).toMatchObject({ likeCount: 1, likedByMe: true });
    await ctx.expectNothingChanged(async () => {
      const again = await like(message.id, member);
      expect(again.status).toBe(200);
      expect(again.body.message).toMatchObject({ likeCount: 1, likedByMe: true });
    });
    expect((await unlike(message.id, member)).body.message).toMatchObject({ likeCount: 0, likedByMe: false });
    await ctx.expectNothingChanged(async () => {
      const again = await unlike(message.id, member);
      expect(again.status).toBe(200);
      expect(again.body.message).toMatchObject({ likeCount: 0, likedByMe: false });
    });
    await waitFor(() => likeEvents(message.id).length === 2, { what: 'two message.likes_changed' });
    expect(likeEvents(message.id).map((event) => [event.data, event.aggregateVersion])).toEqual([
      [{ id: message.id, channel: message.channel, likeCount: 1 }, 2],
      [{ id: message.id, channel: message.channel, likeCount: 0 }, 3],
    ]);
  });

  it('When some like a message, Then everyone sees likeCount, each caller their own likedByMe, and a visitor no likedByMe', async () => {
    const author = await ctx.seedUser('user');
    const message = await post(author);
    const [fan, admin] = [await ctx.seedUser('member'), await ctx.seedUser('admin')];
    await like(message.id, fan);
    await like(message.id, admin);
    const bystander = await ctx.seedUser('member');

    expect(await seenBy(fan, message)).toMatchObject({ likeCount: 2, likedByMe: true });
    expect(await seenBy(admin, message)).toMatchObject({ likeCount: 2, likedByMe: true });
    expect(await seenBy(bystander, message)).toMatchObject({ likeCount: 2, likedByMe: false });
    expect(await seenBy(author, message)).toMatchObject({ likeCount: 2, likedByMe: false });
    const visitorView = await seenBy(undefined, message);
    expect(visitorView).toMatchObject({ likeCount: 2, author: null });
    expect(visitorView).not.toHaveProperty('likedByMe');

    // An edit keeps the count, and the editor's view says whether they like it.
    const edited = await request(ctx.service.url).patch(`/api/messages/${message.id}`).set(ctx.as(author)).send({ body: 'edited' });
    expect(edited.body.message).toMatchObject({ likeCount: 2, likedByMe: false });
  });
});

describe('under concurrency', () => {
  it('When 50 members like one message at once, Then the count is exactly 50, with 50 announcements of 1..50; then 50 unlikes bring it to 0', async () => {
    const message = await post(await ctx.seedUser('member'));
    const likers = await Promise.all(Array.from({ length: 50 }, () => ctx.seedUser('member')));
    const liked = await Promise.all(likers.map((liker) => like(message.id, liker)));
    expect(liked.map((res) => res.status)).toEqual(likers.map(() => 200));
    expect(new Set(liked.map((res) => res.body.message.likeCount))).toEqual(new Set(Array.from({ length: 50 }, (_, index) => index + 1)));
    expect(await storedCount(message.id)).toEqual({ like_count: 50, rows: 50 });
    // Twice more each, at once: nothing moves.
    await Promise.all([...likers, ...likers].map((liker) => like(message.id, liker)));
    expect(await storedCount(message.id)).toEqual({ like_count: 50, rows: 50 });

    await waitFor(() => likeEvents(message.id).length === 50, { what: '50 message.likes_changed' });
    const counts = likeEvents(message.id).map((event) => event.data.likeCount).sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    // Each announcement's version orders it: the highest version carries the final count.
    const newest = likeEvents(message.id).reduce((a, b) => ((a.aggregateVersion ?? 0) > (b.aggregateVersion ?? 0) ? a : b));
    expect(newest.data.likeCount).toBe(50);

    await Promise.all(likers.map((liker) => unlike(message.id, liker)));
    expect(await storedCount(message.id)).toEqual({ like_count: 0, rows: 0 });
  });
});

describe('when a user or a message goes', () => {
  it('When a liker is deleted, Then their likes go, the counts drop, and each change is announced', async () => {
    const [first, second] = [await post(await ctx.seedUser('user')), await post(await ctx.seedUser('user'))];
    const leaver = await ctx.seedUser('member');
    const stayer = await ctx.seedUser('admin');
    for (const message of [first, second]) await like(message.id, leaver);
    await like(first.id, stayer);

    await ctx.deliver(createEvent('user-service', 'user.deleted', { id: leaver.id }, 2));
    expect(await storedCount(first.id)).toEqual({ like_count: 1, rows: 1 });
    expect(await storedCount(second.id)).toEqual({ like_count: 0, rows: 0 });
    await waitFor(() => likeEvents(second.id).length === 2, { what: 'the unlike announced' });
    expect(likeEvents(first.id).at(-1)!.data.likeCount).toBe(1);
    expect(likeEvents(second.id).at(-1)!.data.likeCount).toBe(0);
  });

  it('When a liked message is deleted, Then its likes go with it', async () => {
    const author = await ctx.seedUser('member');
    const message = await post(author);
    await like(message.id, await ctx.seedUser('member'));
    expect((await request(ctx.service.url).delete(`/api/messages/${message.id}`).set(ctx.as(author))).status).toBe(204);
    const { rowCount } = await ctx.service.db.query('SELECT 1 FROM likes WHERE message_id = $1', [message.id]);
    expect(rowCount).toBe(0);
  });
});

import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { encodeCursor } from '@board/service-kit';
import { ROLES, type Role } from '@board/service-kit/contracts';
import { expectErrorResponse, waitFor } from '@board/service-kit/testing';
import { startTestService, type TestContext, type TestUser } from './support';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestService('message_api');
});

afterAll(async () => {
  await ctx.stop();
});

type Method = 'get' | 'post' | 'patch' | 'delete';
const call = (method: Method, path: string) => request(ctx.service.url)[method](path);


const expectNothingChanged = (act: () => Promise<unknown>) => ctx.expectNothingChanged(act);

/** A fresh channel per test keeps pages free of other tests' messages. */
const freshChannel = () => `c-${randomUUID().slice(0, 8)}`;

async function post(author: TestUser, body: string, channel?: string) {
  const res = await call('post', '/api/messages').set(ctx.as(author)).send(channel === undefined ? { body } : { channel, body });
  expect(res.status).toBe(201);
  return res.body.message as { id: string; channel: string; body: string; createdAt: string; editedAt: string | null };
}

const storedMessage = async (id: string) =>
  (await ctx.service.db.query('SELECT body, channel, edited_at FROM messages WHERE id = $1', [id])).rows[0] as
    | { body: string; channel: string; edited_at: Date | null }
    | undefined;

const published = (type: Parameters<TestContext['eventLog']['about']>[0], id: string) =>
  waitFor(() => ctx.eventLog.about(type, id)[0], { what: `${type} for ${id}` });

describe('identity from the gateway', () => {
  const someId = randomUUID();
  const writes: [Method, string][] = [
    ['post', '/api/messages'],
    ['patch', `/api/messages/${someId}`],
    ['delete', `/api/messages/${someId}`],
  ];
  const routes: [Method, string][] = [['get', '/api/messages'], ...writes];

  // A read without identity is a visitor's (visitors.test.ts); a write never is.
  it.each(writes)('%s %s without identity headers is 401', async (method, path) => {
    await expectNothingChanged(async () => expectErrorResponse(await call(method, path).send({ body: 'hello' }), 401, 'UNAUTHORIZED'));
  });

  it.each(routes)('%s %s with a forged role or a missing session is 401', async (method, path) => {
    const admin = await ctx.seedUser('admin');
    const headers = ctx.as(admin);
    const { 'x-session-id': _session, ...withoutSession } = headers;
    await expectNothingChanged(async () => {
      expectErrorResponse(await call(method, path).set({ ...headers, 'x-user-role': 'root' }).send({ body: 'hello' }), 401, 'UNAUTHORIZED');
      expectErrorResponse(await call(method, path).set(withoutSession).send({ body: 'hello' }), 401, 'UNAUTHORIZED');
    });
  });
});

describe('who sees authors', () => {
  let channel: string;
  let writerUser: TestUser;
  let writerMember: TestUser;
  const unknownAuthor = { id: randomUUID(), role: 'member' as const };

  beforeAll(async () => {
    channel = freshChannel();
    writerUser = await ctx.seedUser('user');
    writerMember = await ctx.seedUser('member');
    await post(writerUser, 'by a user', channel);
    await post(writerMember, 'by a member', channel);
    // An author whose registration event has not arrived yet.
    await call('post', '/api/messages').set(ctx.as(unknownAuthor)).send({ channel, body: 'by someone new' });
  });

  const pageAs = async (viewer: { id: string; role: Role }) => {
    const res = await call('get', '/api/messages').query({ channel }).set(ctx.as(viewer));
    expect(res.status).toBe(200);
    return new Map<string, unknown>(res.body.messages.map((message: { body: string; author: unknown }) => [message.body, message.author]));
  };

  it('hides every other author from a user', async () => {
    const viewer = await ctx.seedUser('user');
    const authors = await pageAs(viewer);
    expect([...authors.values()]).toEqual([null, null, null]);
  });

  it('shows a user the author of their own messages', async () => {
    const authors = await pageAs(writerUser);
    expect(authors.get('by a user')).toEqual({ id: writerUser.id, username: writerUser.username, displayName: writerUser.displayName });
    expect(authors.get('by a member')).toBeNull();
    expect(authors.get('by someone new')).toBeNull();
  });

  it.each(['member', 'admin'] as const)('shows a %s every author, with names where known', async (role) => {
    const viewer = await ctx.seedUser(role);
    const authors = await pageAs(viewer);
    expect(authors.get('by a user')).toEqual({ id: writerUser.id, username: writerUser.username, displayName: writerUser.displayName });
    expect(authors.get('by a member')).toEqual({ id: writerMember.id, username: writerMember.username, displayName: writerMember.displayName });
    expect(authors.get('by someone new')).toEqual({ id: unknownAuthor.id, username: null, displayName: null });
  });

  it('applies the same rule to the message returned by POST and PATCH', async () => {
    const user = await ctx.seedUser('user');
    const created = await post(user, 'mine', channel);
    expect(created).toMatchObject({ author: { id: user.id, username: user.username } });
    const edited = await call('patch', `/api/messages/${created.id}`).set(ctx.as(user)).send({ body: 'still mine' });
    expect(edited.body.message.author).toEqual({ id: user.id, username: user.username, displayName: user.displayName });
  });
});

describe('GET /api/messages', () => {
  it.each(ROLES)('serves a %s the newest messages first, in the general channel by default', async (role) => {
    const viewer = await ctx.seedUser(role);
    const writer = await ctx.seedUser('member');
    await post(writer, 'older in general');
    const first = await post(writer, 'first in general');
    const second = await post(writer, 'second in general');
    await post(writer, 'elsewhere', freshChannel());
    const res = await call('get', '/api/messages').query({ limit: 2 }).set(ctx.as(viewer));
    expect(res.status).toBe(200);
    expect(res.body.messages.map((message: { id: string }) => message.id)).toEqual([second.id, first.id]);
    expect(res.body.messages[0]).toEqual({
      id: second.id,
      channel: 'general',
      body: 'second in general',
      createdAt: second.createdAt,
      editedAt: null,
      author: role === 'user' ? null : { id: writer.id, username: writer.username, displayName: writer.displayName },
      likeCount: 0,
      likedByMe: false,
    });
    expect(res.body.nextCursor).toEqual(expect.any(String));
  });

  it('returns an empty page and no cursor for a quiet channel', async () => {
    const viewer = await ctx.seedUser('user');
    const res = await call('get', '/api/messages').query({ channel: freshChannel() }).set(ctx.as(viewer));
    expect(res.body).toEqual({ messages: [], nextCursor: null });
  });

  it('serves 50 by default and caps a larger limit at 100', async () => {
    const viewer = await ctx.seedUser('user');
    const channel = freshChannel();
    await ctx.service.db.query(
      `INSERT INTO messages (id, channel, author_id, body) SELECT gen_random_uuid(), $1, $2, 'bulk ' || n FROM generate_series(1, 120) AS n`,
      [channel, viewer.id],
    );
    expect((await call('get', '/api/messages').query({ channel }).set(ctx.as(viewer))).body.messages).toHaveLength(50);
    const capped = await call('get', '/api/messages').query({ channel, limit: 1_000_000 }).set(ctx.as(viewer));
    expect(capped.status).toBe(200);
    expect(capped.body.messages).toHaveLength(100);
    const rest = await call('get', '/api/messages').query({ channel, limit: 100, before: capped.body.nextCursor }).set(ctx.as(viewer));
    expect(rest.body.messages).toHaveLength(20);
    expect(rest.body.nextCursor).toBeNull();
  });

  it.each([
    ['an uppercase channel', { channel: 'General' }],
    ['an underscore', { channel: 'off_topic' }],
    ['a double hyphen', { channel: 'off--topic' }],
    ['a leading hyphen', { channel: '-general' }],
    ['a 33-character channel', { channel: 'a'.repeat(33) }],
    ['an empty channel', { channel: '' }],
    ['two channels', { channel: ['general', 'random'] }],
    ['limit=0', { limit: '0' }],
    ['limit=-5', { limit: '-5' }],
    ['limit=2.5', { limit: '2.5' }],
    ['limit=lots', { limit: 'lots' }],
    ['two limits', { limit: ['1', '2'] }],
    ['a made-up cursor', { before: 'bm90IGEgY3Vyc29y' }],
    ['a cursor with a bad time', { before: encodeCursor({ createdAt: '2024-13-01T00:00:00.000000Z', id: randomUUID() }) }],
    ['two cursors', { before: ['a', 'b'] }],
    ['a cursor with anything after it', { before: `${encodeCursor({ createdAt: '2024-05-06T07:08:09.123456Z', id: randomUUID() })}${'='.repeat(1_000)}` }],
  ])('rejects %s with 400', async (_label, query) => {
    const viewer = await ctx.seedUser('member');
    const res = await call('get', '/api/messages').query(query).set(ctx.as(viewer));
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details.length).toBeGreaterThan(0);
  });
});

describe('POST /api/messages', () => {
  it.each(ROLES)('lets a %s post; the body is stored and returned exactly as written', async (role) => {
    const author = await ctx.seedUser(role);
    const channel = freshChannel();
    const body = '  <script>alert("x")</script> & <b>bold</b>\n\tsecond line 🙂  ';
    const res = await call('post', '/api/messages').set(ctx.as(author)).set('X-Request-Id', `post-${author.id}`).send({ channel, body });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      message: {
      id: expect.any(String),
      channel,
      body,
      createdAt: expect.any(String),
      editedAt: null,
      author: { id: author.id, username: author.username, displayName: author.displayName },
      likeCount: 0,
      likedByMe: false,
      },
    });
    const message = res.body.message;
    expect(await storedMessage(message.id)).toEqual({ body, channel, edited_at: null });
    const event = await published('message.created', message.id);
    expect(event).toMatchObject({
      producer: 'message-service',
      correlationId: `post-${author.id}`,
      data: { id: message.id, channel, authorId: author.id, body, createdAt: message.createdAt, editedAt: null },
    });
  });

  it('posts to general when no channel is given and counts the post', async () => {
    const author = await ctx.seedUser('user');
    const before = await postedCount();
    const message = await post(author, 'hello');
    expect(message.channel).toBe('general');
    expect(await postedCount()).toBe(before + 1);
  });

  it('accepts 2000 characters, counting an emoji as one', async () => {
    const author = await ctx.seedUser('user');
    const message = await post(author, '🙂'.repeat(2_000), freshChannel());
    expect([...message.body]).toHaveLength(2_000);
  });

  it.each([
    ['no body field', { channel: 'general' }],
    ['a number', { body: 7 }],
    ['null', { body: null }],
    ['an object', { body: { text: 'hi' } }],
    ['an empty body', { body: '' }],
    ['a blank body', { body: ' \n\t ' }],
    ['2001 characters', { body: 'x'.repeat(2_001) }],
    ['a NUL character', { body: 'a\u0000b' }],
    ['a bad channel', { body: 'hi', channel: 'Not A Slug' }],
    ['a null channel', { body: 'hi', channel: null }],
    ['a numeric channel', { body: 'hi', channel: 5 }],
    ['a chosen author', { body: 'hi', authorId: randomUUID() }],
    ['a chosen id', { body: 'hi', id: randomUUID() }],
    ['an array body', ['hi']],
  ])('rejects %s with 400 and stores nothing', async (_label, payload) => {
    const author = await ctx.seedUser('member');
    await expectNothingChanged(async () => expectErrorResponse(await call('post', '/api/messages').set(ctx.as(author)).send(payload), 400, 'VALIDATION_FAILED'));
  });

  it('rejects malformed JSON, non-JSON and oversized bodies', async () => {
    const author = await ctx.seedUser('member');
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('post', '/api/messages').set(ctx.as(author)).set('Content-Type', 'application/json').send('{"body": "hi'), 400, 'MALFORMED_JSON');
      expectErrorResponse(await call('post', '/api/messages').set(ctx.as(author)).set('Content-Type', 'text/plain').send('hi'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectErrorResponse(await call('post', '/api/messages').set(ctx.as(author)).send({ body: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE');
    });
  });
});

async function postedCount(): Promise<number> {
  const text = (await call('get', '/metrics')).text;
  const match = /^messages_posted_total\{[^}]*\} (\d+)$/m.exec(text);
  return Number(match?.[1] ?? 0);
}

describe('PATCH /api/messages/:id', () => {
  it.each(ROLES)('lets a %s edit their own message: editedAt is set and message.updated published', async (role) => {
    const author = await ctx.seedUser(role);
    const original = await post(author, 'typo', freshChannel());
    const res = await call('patch', `/api/messages/${original.id}`).set(ctx.as(author)).send({ body: 'fixed <i>typo</i>' });
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ id: original.id, body: 'fixed <i>typo</i>', createdAt: original.createdAt, editedAt: expect.any(String) });
    expect(Date.parse(res.body.message.editedAt)).toBeGreaterThanOrEqual(Date.parse(original.createdAt));
    expect(await storedMessage(original.id)).toMatchObject({ body: 'fixed <i>typo</i>', edited_at: expect.any(Date) });
    const event = await published('message.updated', original.id);
    expect(event.data).toEqual({
      id: original.id,
      channel: original.channel,
      authorId: author.id,
      body: 'fixed <i>typo</i>',
      createdAt: original.createdAt,
      editedAt: res.body.message.editedAt,
    });
  });

  it.each(ROLES)('refuses a %s editing someone else\'s message with 403', async (role) => {
    const author = await ctx.seedUser('member');
    const other = await ctx.seedUser(role);
    const message = await post(author, 'not yours', freshChannel());
    await expectNothingChanged(async () =>
      expectErrorResponse(await call('patch', `/api/messages/${message.id}`).set(ctx.as(other)).send({ body: 'mine now' }), 403, 'FORBIDDEN'),
    );
  });

  it('is 404 for an unknown message and 400 for an id that is not a uuid', async () => {
    const author = await ctx.seedUser('admin');
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('patch', `/api/messages/${randomUUID()}`).set(ctx.as(author)).send({ body: 'x' }), 404, 'NOT_FOUND');
      expectErrorResponse(await call('patch', '/api/messages/42').set(ctx.as(author)).send({ body: 'x' }), 400, 'VALIDATION_FAILED');
    });
  });

  it.each([
    ['no body field', {}],
    ['a blank body', { body: '   ' }],
    ['2001 characters', { body: 'y'.repeat(2_001) }],
    ['a NUL character', { body: '\u0000' }],
    ['a channel move', { body: 'x', channel: 'random' }],
    ['a number', { body: 1 }],
  ])('rejects %s with 400 and changes nothing', async (_label, payload) => {
    const author = await ctx.seedUser('user');
    const message = await post(author, 'as it was', freshChannel());
    await expectNothingChanged(async () =>
      expectErrorResponse(await call('patch', `/api/messages/${message.id}`).set(ctx.as(author)).send(payload), 400, 'VALIDATION_FAILED'),
    );
  });
});

describe('DELETE /api/messages/:id', () => {
  it.each(ROLES)('lets a %s delete their own message and publishes message.deleted', async (role) => {
    const author = await ctx.seedUser(role);
    const message = await post(author, 'regret', freshChannel());
    const res = await call('delete', `/api/messages/${message.id}`).set(ctx.as(author));
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await storedMessage(message.id)).toBeUndefined();
    expect((await published('message.deleted', message.id)).data).toEqual({ id: message.id, channel: message.channel });
  });

  it('lets an admin delete anyone\'s message', async () => {
    const author = await ctx.seedUser('member');
    const admin = await ctx.seedUser('admin');
    const message = await post(author, 'rule-breaking', freshChannel());
    expect((await call('delete', `/api/messages/${message.id}`).set(ctx.as(admin))).status).toBe(204);
    expect(await storedMessage(message.id)).toBeUndefined();
    await published('message.deleted', message.id);
  });

  it.each(['user', 'member'] as const)('refuses a %s deleting someone else\'s message with 403', async (role) => {
    const author = await ctx.seedUser('user');
    const other = await ctx.seedUser(role);
    const message = await post(author, 'keep me', freshChannel());
    await expectNothingChanged(async () => expectErrorResponse(await call('delete', `/api/messages/${message.id}`).set(ctx.as(other)), 403, 'FORBIDDEN'));
  });

  it('is 404 for an unknown or already deleted message, 400 for a non-uuid id', async () => {
    const author = await ctx.seedUser('user');
    const message = await post(author, 'once', freshChannel());
    expect((await call('delete', `/api/messages/${message.id}`).set(ctx.as(author))).status).toBe(204);
    await expectNothingChanged(async () => {
      expectErrorResponse(await call('delete', `/api/messages/${message.id}`).set(ctx.as(author)), 404, 'NOT_FOUND');
      expectErrorResponse(await call('delete', `/api/messages/${randomUUID()}`).set(ctx.as(author)), 404, 'NOT_FOUND');
      expectErrorResponse(await call('delete', '/api/messages/not-an-id').set(ctx.as(author)), 400, 'VALIDATION_FAILED');
    });
  });
});

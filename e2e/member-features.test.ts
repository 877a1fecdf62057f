import { call } from './support/client';
import { Stream } from './support/stream';
import { adminSession, login, newMember, newUser, type Session } from './support/users';

interface MessageView {
  id: string;
  author: { id: string } | null;
  likeCount: number;
  likedByMe?: boolean;
}

/** Visitors, likes and bookmarks through nginx, the gateway, message-service and realtime-service. */
describe('visitors, likes and bookmarks, end to end', () => {
  const channel = `e2e-mf-${Date.now().toString(36)}`;
  const streams: Stream[] = [];
  afterAll(() => streams.forEach((stream) => stream.close()));

  const post = async (session: Session, body: string) => {
    const response = await call<{ message: { id: string } }>('POST', '/api/messages', { token: session.accessToken, body: { channel, body } });
    expect(response.status).toBe(201);
    return response.body.message.id;
  };

  it('lets a visitor read and watch live without ever seeing an author, and write nothing', async () => {
    const author = await newMember('visible');
    const earlier = await post(author, 'posted before the visitor came');

    const page = await call<{ messages: MessageView[] }>('GET', `/api/messages?channel=${channel}`);
    expect(page.status).toBe(200);
    const seen = page.body.messages.find((message) => message.id === earlier);
    expect(seen).toMatchObject({ author: null, likeCount: 0 });
    expect(seen).not.toHaveProperty('likedByMe');
    expect(JSON.stringify(page.body)).not.toContain(author.id);

    const listed = await call<{ channels: { name: string; messageCount: number }[] }>('GET', '/api/channels');
    expect(listed.status).toBe(200);
    expect(listed.body.channels.find((entry) => entry.name === channel)).toMatchObject({ messageCount: 1, lastMessageAt: expect.any(String) });

    const visitor = await Stream.openAsVisitor(channel);
    streams.push(visitor);
    const live = await post(author, 'posted while the visitor watches');
    const created = await visitor.next('message.created', (data) => data.id === live);
    expect(created.data).not.toHaveProperty('authorId');
    expect(created.data.body).toBe('posted while the visitor watches');

    // A reload that resumes: the replay hides the author too.
    const resumed = await Stream.openAsVisitor(channel, created.id);
    streams.push(resumed);
    const edited = await call('PATCH', `/api/messages/${live}`, { token: author.accessToken, body: { body: 'edited for the visitor' } });
    expect(edited.status).toBe(200);
    for (const stream of [visitor, resumed]) expect((await stream.next('message.updated', (data) => data.id === live)).data).not.toHaveProperty('authorId');
    expect(JSON.stringify([...visitor.events, ...resumed.events])).not.toContain(author.id);

    for (const [method, path, body] of [
      ['POST', '/api/messages', { channel, body: 'anonymous' }],
      ['PUT', `/api/messages/${live}/like`, undefined],
      ['PUT', `/api/bookmarks/${live}`, undefined],
      ['GET', '/api/bookmarks', undefined],
      ['POST', '/api/events/ticket', undefined],
    ] as const) {
      const refused = await call<{ error: { code: string } }>(method, path, { body });
      expect({ path, status: refused.status, code: refused.body.error?.code }).toEqual({ path, status: 401, code: 'UNAUTHORIZED' });
    }
  });

  it('counts a like live on every stream of the channel, and refuses a user', async () => {
    const [author, liker, user] = await Promise.all([newUser('liked'), newMember('liker'), newUser('plain')]);
    const admin = await adminSession();
    const [userStream, adminStream, visitorStream] = await Promise.all([
      Stream.open(user.accessToken, channel),
      Stream.open(admin.accessToken, channel),
      Stream.openAsVisitor(channel),
    ]);
    streams.push(userStream, adminStream, visitorStream);
    const messageId = await post(author, 'like this');

    const liked = await call<{ message: MessageView }>('PUT', `/api/messages/${messageId}/like`, { token: liker.accessToken });
    expect(liked.status).toBe(200);
    expect(liked.body.message).toMatchObject({ likeCount: 1, likedByMe: true });
    for (const stream of [userStream, adminStream, visitorStream]) {
      expect((await stream.next('message.likes_changed', (data) => data.id === messageId)).data).toEqual({ id: messageId, channel, likeCount: 1 });
    }
    expect((await call<{ message: MessageView }>('PUT', `/api/messages/${messageId}/like`, { token: admin.accessToken })).body.message.likeCount).toBe(2);
    await visitorStream.next('message.likes_changed', (data) => data.id === messageId && data.likeCount === 2);

    const refused = await call<{ error: { code: string } }>('PUT', `/api/messages/${messageId}/like`, { token: user.accessToken });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);

    const asUser = await call<{ messages: MessageView[] }>('GET', `/api/messages?channel=${channel}`, { token: user.accessToken });
    expect(asUser.body.messages.find((message) => message.id === messageId)).toMatchObject({ likeCount: 2, likedByMe: false });
    const asLiker = await call<{ messages: MessageView[] }>('GET', `/api/messages?channel=${channel}`, { token: liker.accessToken });
    expect(asLiker.body.messages.find((message) => message.id === messageId)).toMatchObject({ likeCount: 2, likedByMe: true });

    expect((await call<{ message: MessageView }>('DELETE', `/api/messages/${messageId}/like`, { token: liker.accessToken })).body.message).toMatchObject({
      likeCount: 1,
      likedByMe: false,
    });
    await userStream.next('message.likes_changed', (data) => data.id === messageId && data.likeCount === 1);
  });

  it('keeps bookmarks across a reload and drops them when the message is deleted', async () => {
    const [author, keeper] = await Promise.all([newUser('bookmarked'), newMember('keeper')]);
    const [first, second] = [await post(author, 'keep me'), await post(author, 'keep me too')];
    for (const id of [first, second]) expect((await call('PUT', `/api/bookmarks/${id}`, { token: keeper.accessToken })).status).toBe(204);

    // A reload: a new login, a new token; the bookmarks are the account's.
    const reloaded = await login(keeper.email, keeper.password);
    const listed = await call<{ messages: MessageView[]; nextCursor: string | null }>('GET', '/api/bookmarks?limit=1', { token: reloaded.accessToken });
    expect(listed.status).toBe(200);
    expect(listed.body.messages.map((message) => message.id)).toEqual([second]);
    expect(listed.body.messages[0]!.author).toMatchObject({ id: author.id });
    const rest = await call<{ messages: MessageView[]; nextCursor: string | null }>(
      'GET',
      `/api/bookmarks?limit=1&before=${encodeURIComponent(listed.body.nextCursor!)}`,
      { token: reloaded.accessToken },
    );
    expect(rest.body.messages.map((message) => message.id)).toEqual([first]);

    expect((await call('DELETE', `/api/messages/${second}`, { token: author.accessToken })).status).toBe(204);
    const after = await call<{ messages: MessageView[] }>('GET', '/api/bookmarks', { token: reloaded.accessToken });
    expect(after.body.messages.map((message) => message.id)).toEqual([first]);
  });
});

import { call } from './support/client';
import { Stream } from './support/stream';
import { adminSession, claimsOf, eventually, login, newMember, newUser, refresh, type Session } from './support/users';

/** Whole journeys of real users through nginx, the gateway and every service, with a real SSE client. */
describe('the message board, end to end', () => {
  const channel = `e2e-${Date.now().toString(36)}`;
  const streams: Stream[] = [];
  afterAll(() => streams.forEach((stream) => stream.close()));

  const post = async (session: Session, body: string) => {
    const response = await call<{ message: { id: string } }>('POST', '/api/messages', { token: session.accessToken, body: { channel, body } });
    expect(response.status).toBe(201);
    return response.body.message.id;
  };

  it('shows authors to members, hides them from users, live and in the API', async () => {
    const [alice, bob, carol] = await Promise.all([newUser('alice'), newMember('bob'), newUser('carol')]);
    const [userStream, memberStream] = await Promise.all([Stream.open(carol.accessToken, channel), Stream.open(bob.accessToken, channel)]);
    streams.push(userStream, memberStream);

    const messageId = await post(alice, '<b>hello</b> & welcome');

    const asMember = await memberStream.next('message.created', (data) => data.id === messageId);
    expect(asMember.data).toMatchObject({ id: messageId, channel, authorId: alice.id, body: '<b>hello</b> & welcome' });
    expect(asMember.id).toMatch(/^\d+-\d+$/);
    const asUser = await userStream.next('message.created', (data) => data.id === messageId);
    expect(asUser.data).not.toHaveProperty('authorId');
    expect(asUser.data.body).toBe('<b>hello</b> & welcome');

    const memberPage = await call<{ messages: { id: string; author: unknown }[] }>('GET', `/api/messages?channel=${channel}`, { token: bob.accessToken });
    expect(memberPage.body.messages.find((message) => message.id === messageId)?.author).toMatchObject({ id: alice.id });
    const userPage = await call<{ messages: { id: string; author: unknown }[] }>('GET', `/api/messages?channel=${channel}`, { token: carol.accessToken });
    expect(userPage.body.messages.find((message) => message.id === messageId)?.author).toBeNull();
    const ownPage = await call<{ messages: { id: string; author: unknown }[] }>('GET', `/api/messages?channel=${channel}`, { token: alice.accessToken });
    expect(ownPage.body.messages.find((message) => message.id === messageId)?.author).toMatchObject({ id: alice.id });
  });

  it('lets an author edit and delete, and every open stream follows', async () => {
    const [author, reader] = await Promise.all([newUser('author'), newMember('reader')]);
    const stream = await Stream.open(reader.accessToken, channel);
    streams.push(stream);
    const messageId = await post(author, 'first draft');
    const edited = await call('PATCH', `/api/messages/${messageId}`, { token: author.accessToken, body: { body: 'final text' } });
    expect(edited.status).toBe(200);
    expect((await stream.next('message.updated', (data) => data.id === messageId)).data).toMatchObject({ body: 'final text', editedAt: expect.any(String) });

    const byOther = await call('PATCH', `/api/messages/${messageId}`, { token: reader.accessToken, body: { body: 'hijacked' } });
    expect(byOther.status).toBe(403);
    expect((await call('DELETE', `/api/messages/${messageId}`, { token: author.accessToken })).status).toBe(204);
    expect((await stream.next('message.deleted', (data) => data.id === messageId)).data).toEqual({ id: messageId, channel });
  });

  it('resumes a stream with Last-Event-ID: exactly what was missed, in order', async () => {
    const [writer, reader] = await Promise.all([newUser('writer'), newMember('resumer')]);
    const first = await Stream.open(reader.accessToken, channel);
    const seen = await post(writer, 'seen live');
    const lastSeen = await first.next('message.created', (data) => data.id === seen);
    first.close();
    const missed = [await post(writer, 'missed 1'), await post(writer, 'missed 2'), await post(writer, 'missed 3')];
    const resumed = await Stream.open(reader.accessToken, channel, lastSeen.id);
    streams.push(resumed);
    await eventually(async () => resumed.events.filter((event) => event.type === 'message.created').length >= 3, 'the replay');
    expect(resumed.events.filter((event) => event.type === 'message.created').map((event) => event.data.id)).toEqual(missed);
  });

  it('rotates refresh tokens, and a replayed one revokes the whole session at once', async () => {
    const session = await newUser('rotator');
    const first = await refresh(session);
    expect(first.accessToken).not.toBe(session.accessToken);
    expect(claimsOf(first.accessToken).sid).toBe(claimsOf(session.accessToken).sid);
    // The owner refreshes on; the thief then replays the first token. (A replay while its
    // successor is still the current token, seconds later, is a second tab: see the next test.)
    const rotated = await refresh(first);

    const replay = await call('POST', '/api/auth/refresh', { cookies: session.cookies, headers: { 'x-csrf-token': session.csrfToken } });
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual({ error: expect.objectContaining({ code: 'REFRESH_TOKEN_REUSED' }) });
    // The thief's and the owner's tokens of that session are all dead now, not in 15 minutes.
    for (const token of [session.accessToken, rotated.accessToken]) {
      const me = await call('GET', '/api/users/me', { token });
      expect(me.status).toBe(401);
      expect(me.body).toEqual({ error: expect.objectContaining({ code: 'SESSION_REVOKED' }) });
    }
    const again = await call('POST', '/api/auth/refresh', { cookies: rotated.cookies, headers: { 'x-csrf-token': rotated.csrfToken } });
    expect(again.status).toBe(401);
  });

  it('two tabs refreshing at once both keep the session, with the same new refresh token', async () => {
    const session = await newUser('two_tabs');
    const [left, right] = await Promise.all([refresh(session), refresh(session)]);
    expect(right!.cookies).toBe(left!.cookies);
    expect((await call('GET', '/api/users/me', { token: right!.accessToken })).status).toBe(200);
    expect((await refresh(left!)).role).toBe(session.role);
  });

  it('logs out: the access token is refused on its next request and the session stream closes', async () => {
    const session = await newUser('leaver');
    const stream = await Stream.open(session.accessToken, channel);
    expect((await call('POST', '/api/auth/logout', { token: session.accessToken })).status).toBe(204);
    expect((await call('GET', '/api/users/me', { token: session.accessToken })).status).toBe(401);
    await eventually(async () => stream.closed, 'the stream to close');
  });

  it('lists a user\'s devices and revokes one from another', async () => {
    const phone = await newUser('devices');
    const laptop = await login(phone.email, phone.password);
    const sessions = await call<{ sessions: { id: string; current: boolean }[] }>('GET', '/api/auth/sessions', { token: laptop.accessToken });
    expect(sessions.body.sessions).toHaveLength(2);
    const phoneSession = sessions.body.sessions.find((entry) => !entry.current)!;
    expect(phoneSession.id).toBe(claimsOf(phone.accessToken).sid);
    expect((await call('DELETE', `/api/auth/sessions/${phoneSession.id}`, { token: laptop.accessToken })).status).toBe(204);
    expect((await call('GET', '/api/users/me', { token: phone.accessToken })).status).toBe(401);
    expect((await call('GET', '/api/users/me', { token: laptop.accessToken })).status).toBe(200);
  });

  it('makes a member with the passcode and an admin by an admin; the next refresh carries the role', async () => {
    const admin = await adminSession();
    expect(admin.role).toBe('admin');
    const promoted = await newUser('promoted');
    const change = await call('PATCH', `/api/users/${promoted.id}/role`, { token: admin.accessToken, body: { role: 'admin' } });
    expect(change.status).toBe(200);
    let current = promoted;
    const refreshed = await eventually(async () => {
      current = await refresh(current);
      return current.role === 'admin' ? current : undefined;
    }, 'the admin role in a refreshed token');
    expect(claimsOf(refreshed.accessToken).role).toBe('admin');
    expect((await call('GET', '/api/users', { token: refreshed.accessToken })).status).toBe(200);
    expect((await call('GET', '/api/users', { token: (await newMember('plain')).accessToken })).status).toBe(403);
  });

  it('deletes a user everywhere: token refused at once, messages gone for every reader, stream closed', async () => {
    const admin = await adminSession();
    const [doomed, reader] = await Promise.all([newUser('doomed'), newMember('witness')]);
    const readerStream = await Stream.open(reader.accessToken, channel);
    const doomedStream = await Stream.open(doomed.accessToken, channel);
    streams.push(readerStream);
    const messageIds = [await post(doomed, 'goodbye 1'), await post(doomed, 'goodbye 2')];

    expect((await call('DELETE', `/api/users/${doomed.id}`, { token: admin.accessToken })).status).toBe(204);
    expect((await call('GET', '/api/messages', { token: doomed.accessToken })).status).toBe(401);
    for (const id of messageIds) await readerStream.next('message.deleted', (data) => data.id === id);
    const page = await call<{ messages: { id: string }[] }>('GET', `/api/messages?channel=${channel}&limit=100`, { token: reader.accessToken });
    expect(page.body.messages.map((message) => message.id)).not.toEqual(expect.arrayContaining([messageIds[0]]));
    await eventually(async () => doomedStream.closed, 'the deleted user\'s stream to close');
    // auth-service forgets the credentials when user.deleted reaches it.
    await eventually(
      async () => (await call('POST', '/api/auth/login', { body: { email: doomed.email, password: doomed.password } })).status === 401,
      'the credentials to be gone',
    );
  });
});

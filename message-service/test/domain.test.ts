import { randomUUID } from 'node:crypto';
import { parseConfig } from '@board/service-kit';
import { type Identity, type Role } from '@board/service-kit/contracts';
import { configShape } from '../src/config';
import { mayDelete, mayEdit, messageEventData, presentMessage, type StoredMessage } from '../src/domain/message';

const caller = (role: Role, userId: string = randomUUID()): Identity => ({ userId, role, sessionId: randomUUID() });

const message = (overrides: Partial<StoredMessage> = {}): StoredMessage => ({
  id: randomUUID(),
  channel: 'general',
  authorId: randomUUID(),
  body: '<b>hi</b>',
  createdAt: new Date('2024-05-06T07:08:09.123Z'),
  editedAt: null,
  authorName: { username: 'ada', displayName: 'Ada' },
  version: 1,
  likeCount: 0,
  likedByMe: false,
  ...overrides,
});

describe('presentMessage', () => {
  it('hides the author of other people\'s messages from a user', () => {
    expect(presentMessage(message(), caller('user')).author).toBeNull();
  });

  it('shows a user the author of their own message', () => {
    const mine = message();
    expect(presentMessage(mine, caller('user', mine.authorId)).author).toEqual({ id: mine.authorId, username: 'ada', displayName: 'Ada' });
  });

  it.each(['member', 'admin'] as const)('shows a %s every author, with null names while they are unknown', (role) => {
    const known = message();
    const unknown = message({ authorName: null });
    expect(presentMessage(known, caller(role)).author).toEqual({ id: known.authorId, username: 'ada', displayName: 'Ada' });
    expect(presentMessage(unknown, caller(role)).author).toEqual({ id: unknown.authorId, username: null, displayName: null });
  });

  it('returns the body untouched and times as ISO strings', () => {
    const edited = message({ editedAt: new Date('2024-05-07T00:00:00.000Z') });
    expect(presentMessage(edited, caller('member'))).toMatchObject({
      body: '<b>hi</b>',
      createdAt: '2024-05-06T07:08:09.123Z',
      editedAt: '2024-05-07T00:00:00.000Z',
    });
  });

  it('puts the author id, never names, in event data', () => {
    const stored = message();
    expect(messageEventData(stored)).toEqual({
      id: stored.id,
      channel: 'general',
      authorId: stored.authorId,
      body: '<b>hi</b>',
      createdAt: '2024-05-06T07:08:09.123Z',
      editedAt: null,
    });
  });
});

describe('who may change a message', () => {
  const stored = message();

  it('lets only the author edit, whatever the role', () => {
    expect(mayEdit(stored, caller('user', stored.authorId))).toBe(true);
    for (const role of ['user', 'member', 'admin'] as const) expect(mayEdit(stored, caller(role))).toBe(false);
  });

  it('lets the author or an admin delete', () => {
    expect(mayDelete(stored, caller('user', stored.authorId))).toBe(true);
    expect(mayDelete(stored, caller('admin'))).toBe(true);
    expect(mayDelete(stored, caller('member'))).toBe(false);
    expect(mayDelete(stored, caller('user'))).toBe(false);
  });
});

describe('configuration', () => {
  it('runs on localhost defaults with no environment', () => {
    expect(parseConfig(configShape, {})).toMatchObject({
      PORT: 3003,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/messages',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      EVENTS_EXCHANGE: 'domain.events',
      EVENTS_QUEUE_PREFIX: '',
    });
  });
});

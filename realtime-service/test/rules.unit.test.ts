import { randomUUID } from 'node:crypto';
import { ConfigError, createEvent, parseConfig } from '@board/service-kit';
import { type AnyEvent, type Role } from '@board/service-kit/contracts';
import { configShape } from '../src/config';
import { dataFor, viewFor, type Recipient } from '../src/domain/audience';
import { parseChannelList } from '../src/domain/channels';
import { compareStreamIds, isAfter, parseStreamId } from '../src/domain/stream-id';
import { StreamEvent } from '../src/sse/frames';
import { resyncReason } from '../src/sse/resume';
import { messageData } from './support/harness';

const recipient = (role: Role, channels = ['general'], userId = randomUUID()): Recipient => ({ userId, role, channels });

describe('stream ids', () => {
  it('compares by milliseconds, then sequence, as integers', () => {
    expect(isAfter('10-0', '9-5')).toBe(true);
    expect(isAfter('9-10', '9-9')).toBe(true);
    expect(isAfter('9-9', '9-9')).toBe(false);
    expect(isAfter('1700000000000-0', '1700000000000-1')).toBe(false);
    expect(compareStreamIds(parseStreamId('18446744073709551615-1')!, parseStreamId('18446744073709551615-0')!)).toBe(1);
  });

  it.each(['', 'abc', '12', '12-', '-3', '1-2-3', '1.5-0', ' 1-0'])('rejects %j', (value) => {
    expect(parseStreamId(value)).toBeUndefined();
  });
});

describe('resync decision', () => {
  const bounds = { first: '100-0', last: '200-3' };

  it('replays an id within the stream, including its first and last entries', () => {
    expect(resyncReason('150-0', bounds)).toBeUndefined();
    expect(resyncReason('100-0', bounds)).toBeUndefined();
    expect(resyncReason('200-3', bounds)).toBeUndefined();
  });

  it('resyncs an id older than the oldest entry, newer than the newest, malformed, or with an empty stream', () => {
    expect(resyncReason('99-9', bounds)).toBe('too_old');
    expect(resyncReason('200-4', bounds)).toBe('unknown_id');
    expect(resyncReason('yesterday', bounds)).toBe('malformed_id');
    expect(resyncReason('150-0', {})).toBe('unknown_id');
  });
});

describe('who receives what', () => {
  const authorId = randomUUID();
  const created = createEvent('test', 'message.created', messageData('general', authorId));
  const deleted = createEvent('test', 'message.deleted', { id: randomUUID(), channel: 'general' });

  it('shows message authors to members and admins, hides them from users except on their own', () => {
    expect(viewFor(created, recipient('member'))).toBe('full');
    expect(viewFor(created, recipient('admin'))).toBe('full');
    expect(viewFor(created, recipient('user'))).toBe('anonymous');
    expect(viewFor(created, recipient('user', ['general'], authorId))).toBe('full');
    const { authorId: _author, ...anonymous } = created.data;
    expect(dataFor(created, 'anonymous')).toEqual(anonymous);
    expect(dataFor(created, 'full')).toBe(created.data);
    expect(dataFor(deleted, 'anonymous')).toBe(deleted.data);
  });

  it('sends message events only to subscribers of their channel', () => {
    expect(viewFor(created, recipient('admin', ['random']))).toBeUndefined();
    expect(viewFor(deleted, recipient('user', ['random', 'general']))).toBe('full');
    expect(viewFor(deleted, recipient('user', ['random']))).toBeUndefined();
  });

  it('sends user events by role, and a role change to that user only', () => {
    const userId = randomUUID();
    const events: Record<string, AnyEvent> = {
      updated: createEvent('test', 'user.updated', { id: userId, username: 'u', displayName: 'U' }),
      registered: createEvent('test', 'user.registered', { id: userId, email: 'u@example.com', username: 'u', displayName: 'U', role: 'user' }),
      deleted: createEvent('test', 'user.deleted', { id: userId }),
      roleChanged: createEvent('test', 'user.role_changed', { id: userId, role: 'member', previousRole: 'user' }),
    };
    const receives = (event: AnyEvent, who: Recipient) => viewFor(event, who) !== undefined;
    expect([recipient('user'), recipient('member'), recipient('admin')].map((who) => receives(events.updated!, who))).toEqual([false, true, true]);
    for (const event of [events.registered!, events.deleted!]) {
      expect([recipient('user'), recipient('member'), recipient('admin')].map((who) => receives(event, who))).toEqual([false, false, true]);
    }
    expect(receives(events.roleChanged!, recipient('user', [], userId))).toBe(true);
    expect(receives(events.roleChanged!, recipient('admin'))).toBe(false);
  });

  it('renders each view of an event once, however many recipients', () => {
    const entry = new StreamEvent('1-0', created);
    const full = entry.frame('full');
    expect(entry.frame('full')).toBe(full);
    expect(full.toString()).toBe(`id: 1-0\nevent: message.created\ndata: ${JSON.stringify(created.data)}\n\n`);
    expect(entry.frame('anonymous').toString()).not.toContain(authorId);
  });
});

describe('channel lists', () => {
  it('accepts up to 10 distinct slugs and removes repeats', () => {
    expect(parseChannelList('general,random,general')).toEqual(['general', 'random']);
    expect(parseChannelList('a-b,c1')).toEqual(['a-b', 'c1']);
    expect(parseChannelList(Array.from({ length: 10 }, (_, index) => `c${index}`).join(','))).toHaveLength(10);
  });

  it.each(['General', 'a--b', '-a', 'a-', 'a b', 'a,', 'a'.repeat(33), Array.from({ length: 11 }, (_, index) => `c${index}`).join(',')])(
    'rejects %j',
    (list) => {
      expect(parseChannelList(list)).toBeUndefined();
    },
  );
});

describe('configuration', () => {
  it('runs against local servers with no configuration', () => {
    const config = parseConfig(configShape, {});
    expect(config).toEqual(
      expect.objectContaining({
        PORT: 3004,
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_KEY_PREFIX: '',
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
        STREAM_MAX_LENGTH: 10_000,
        HEARTBEAT_INTERVAL_MS: 15_000,
        MAX_CLIENT_BUFFER_BYTES: 262_144,
        SSE_RETRY_MS: 3_000,
      }),
    );
  });

  it('names each bad value', () => {
    const problemsWith = (env: Record<string, string>): string[] => {
      try {
        parseConfig(configShape, env);
        return [];
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return error.problems.map((problem) => problem.split(':')[0]!);
      }
    };
    expect(problemsWith({ STREAM_MAX_LENGTH: '10', REDIS_URL: 'http://redis', HEARTBEAT_INTERVAL_MS: 'often' }).sort()).toEqual([
      'HEARTBEAT_INTERVAL_MS',
      'REDIS_URL',
      'STREAM_MAX_LENGTH',
    ]);
  });
});

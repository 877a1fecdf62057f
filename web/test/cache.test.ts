import { describe, expect, it } from 'vitest';
import type { Message } from '../src/api/types';
import { addMessage, authorOf, fromLive, mergeNewest, removeAuthor, replaceMessage, setLikes, type Pages } from '../src/features/board/cache';

const m = (id: string, createdAt: string, extra: Partial<Message> = {}): Message => ({
  id,
  channel: 'general',
  body: id,
  createdAt,
  editedAt: null,
  author: { id: `u-${id}`, username: `user${id}`, displayName: `User ${id}` },
  likeCount: 0,
  ...extra,
});
const pages = (...groups: Message[][]): Pages => ({
  pages: groups.map((messages, i) => ({ messages, nextCursor: i === groups.length - 1 ? null : `c${i}` })),
  pageParams: groups.map((_, i) => (i === 0 ? undefined : `c${i - 1}`)),
});
const ids = (p: Pages) => p.pages.flatMap((page) => page.messages.map((x) => x.id));

describe('the board cache', () => {
  it('adds a new message on top once', () => {
    const start = pages([m('b', '2026-01-02T00:00:00.000Z')], [m('a', '2026-01-01T00:00:00.000Z')]);
    const once = addMessage(start, m('c', '2026-01-03T00:00:00.000Z'));
    expect(ids(addMessage(once, m('c', '2026-01-03T00:00:00.000Z')))).toEqual(['c', 'b', 'a']);
  });

  it('drops an edit older than the one shown', () => {
    const start = pages([m('a', '2026-01-01T00:00:00.000Z', { body: 'v2', editedAt: '2026-01-05T00:00:00.000Z' })]);
    const stale = replaceMessage(start, m('a', '2026-01-01T00:00:00.000Z', { body: 'v1', editedAt: '2026-01-04T00:00:00.000Z' }));
    expect(stale.pages[0]?.messages[0]?.body).toBe('v2');
  });

  it("takes an author's names only from what the API gave, else null names as the API does", () => {
    const start = pages([m('a', '2026-01-01T00:00:00.000Z')]);
    expect(authorOf(start, 'u-a')).toEqual({ author: { id: 'u-a', username: 'usera', displayName: 'User a' }, known: true });
    expect(authorOf(start, 'u-x')).toEqual({ author: { id: 'u-x', username: null, displayName: null }, known: false });
    expect(authorOf(start, undefined)).toEqual({ author: null, known: true });
  });

  it("lays the API's newest page over what is shown", () => {
    const start = pages([m('c', '2026-01-03T00:00:00.000Z', { author: { id: 'u-c', username: null, displayName: null } }), m('b', '2026-01-02T00:00:00.000Z')]);
    const merged = mergeNewest(start, { messages: [m('d', '2026-01-04T00:00:00.000Z'), m('c', '2026-01-03T00:00:00.000Z')], nextCursor: null });
    expect(ids(merged)).toEqual(['d', 'c']);
    expect(merged.pages[0]?.messages[1]?.author?.displayName).toBe('User c');
  });

  it('keeps the likes when a live edit (which carries none) replaces a message, and applies a new count', () => {
    const start = pages([m('a', '2026-01-01T00:00:00.000Z', { likeCount: 3, likedByMe: true })]);
    const live = fromLive({ id: 'a', channel: 'general', body: 'edited', createdAt: '2026-01-01T00:00:00.000Z', editedAt: '2026-01-02T00:00:00.000Z' }, null);
    const edited = replaceMessage(start, live);
    expect(edited.pages[0]?.messages[0]).toMatchObject({ body: 'edited', likeCount: 3, likedByMe: true });
    expect(setLikes(edited, 'a', 4).pages[0]?.messages[0]).toMatchObject({ likeCount: 4, likedByMe: true });
    const created = addMessage(start, fromLive({ id: 'b', channel: 'general', body: 'new', createdAt: '2026-01-03T00:00:00.000Z', editedAt: null }, null));
    expect(created.pages[0]?.messages[0]).toMatchObject({ id: 'b', likeCount: 0, likedByMe: false });
  });

  it("removes a deleted user's messages", () => {
    const start = pages([m('a', '2026-01-01T00:00:00.000Z'), m('b', '2026-01-01T00:00:00.000Z')]);
    expect(ids(removeAuthor(start, 'u-a'))).toEqual(['b']);
  });
});

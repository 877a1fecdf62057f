import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message, User } from '../src/api/types';
import { ada, json } from './fake-api';
import { SilentSource, renderSignedIn } from './render';

const member: User = { ...ada, role: 'member' };
const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
const message = (id: string, n: number): Message => ({
  id,
  channel: 'general',
  body: `body ${id}`,
  createdAt: at(n),
  editedAt: null,
  author: { id: 'someone', username: 'bob', displayName: 'Bob' },
  likeCount: 0,
  likedByMe: false,
});

beforeEach(() => {
  vi.stubGlobal('EventSource', SilentSource);
  window.history.replaceState(null, '', '/');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('bookmarks', () => {
  it('toggles a bookmark on the board (pressed as the API keeps it) and lists it on the Bookmarks screen', async () => {
    const kept = new Map<string, Message>();
    const board = [message('b2', 2), message('b1', 1)];
    const { server, session } = renderSignedIn(member, {
      'GET /api/messages': () => json(200, { messages: board, nextCursor: null }),
      'GET /api/bookmarks': () => json(200, { messages: [...kept.values()].reverse(), nextCursor: null }),
      'PUT /api/bookmarks/b1': () => {
        kept.set('b1', board[1]!);
        return json(204, null);
      },
      'DELETE /api/bookmarks/b1': () => {
        kept.delete('b1');
        return json(204, null);
      },
    });
    await session.restore();
    const feed = await screen.findByRole('feed');
    await waitFor(() => expect(within(feed).getAllByRole('article')).toHaveLength(2));
    const target = within(feed).getAllByRole('article')[1] as HTMLElement;
    const toggle = within(target).getByRole('button', { name: 'Bookmark' });
    expect(toggle.getAttribute('aria-pressed')).toBe('false');
    await userEvent.click(toggle);
    await waitFor(() => expect(within(target).getByRole('button', { name: 'Bookmarked' }).getAttribute('aria-pressed')).toBe('true'));
    expect(server.calls.find((c) => c.route === 'PUT /api/bookmarks/b1')?.authorization).toBe('Bearer t1');

    await userEvent.click(screen.getByRole('link', { name: 'Bookmarks' }));
    await screen.findByRole('heading', { name: 'Bookmarks' });
    const list = screen.getByRole('feed', { name: 'Bookmarked messages' });
    await waitFor(() => expect(within(list).getAllByRole('article').map((a) => a.getAttribute('data-message-id'))).toEqual(['b1']));
    expect(within(list).getByRole('link', { name: '#general' })).toBeTruthy();
    // Taking the bookmark back removes it from the list at once.
    await userEvent.click(within(list).getByRole('button', { name: 'Bookmarked' }));
    await waitFor(() => expect(within(list).queryAllByRole('article')).toHaveLength(0));
    expect(server.calls.some((c) => c.route === 'DELETE /api/bookmarks/b1')).toBe(true);
    session.dispose();
  });

  it('pages the Bookmarks screen on the cursor, newest bookmark first, and drops a message deleted from it', async () => {
    const cursor = 'c'.repeat(86);
    const mine: Message = { ...message('own', 9), author: { id: member.id, username: 'ada', displayName: 'Ada' } };
    window.history.replaceState(null, '', '/bookmarks');
    const { server, session } = renderSignedIn(member, {
      'GET /api/bookmarks': (_init, _n, url) =>
        json(200, url.searchParams.get('before') === cursor ? { messages: [message('old', 1)], nextCursor: null } : { messages: [mine, message('mid', 5)], nextCursor: cursor }),
      'DELETE /api/messages/own': () => json(204, null),
    });
    await session.restore();
    const list = await screen.findByRole('feed', { name: 'Bookmarked messages' });
    await waitFor(() => expect(within(list).getAllByRole('article')).toHaveLength(2));
    await userEvent.click(screen.getByRole('button', { name: 'Load older bookmarks' }));
    await waitFor(() => expect(within(list).getAllByRole('article').map((a) => a.getAttribute('data-message-id'))).toEqual(['own', 'mid', 'old']));
    const own = within(list).getAllByRole('article')[0] as HTMLElement;
    await userEvent.click(within(own).getByRole('button', { name: 'Delete' }));
    await userEvent.click(within(own).getByRole('button', { name: 'Delete this message' }));
    await waitFor(() => expect(within(list).getAllByRole('article').map((a) => a.getAttribute('data-message-id'))).toEqual(['mid', 'old']));
    expect(server.calls.filter((c) => c.route === 'GET /api/bookmarks').map((c) => c.url.searchParams.get('before'))).toEqual([null, cursor]);
    session.dispose();
  });

  it('offers a user neither the toggle nor the screen, and asks the API for no bookmarks', async () => {
    const { server, session } = renderSignedIn(ada, {
      'GET /api/messages': () => json(200, { messages: [message('u1', 1)], nextCursor: null }),
    });
    await session.restore();
    const feed = await screen.findByRole('feed');
    await waitFor(() => expect(within(feed).getAllByRole('article')).toHaveLength(1));
    expect(screen.queryByRole('button', { name: /Bookmark/ })).toBeNull();
    expect(screen.queryByRole('link', { name: 'Bookmarks' })).toBeNull();
    expect(server.calls.some((c) => c.route === 'GET /api/bookmarks')).toBe(false);
    session.dispose();
  });
});

import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message, User } from '../src/api/types';
import { MessageItem } from '../src/features/board/MessageItem';
import { ada, apiError, issued, json } from './fake-api';
import { SilentSource, renderApp } from './render';

const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const messages: Message[] = [
  { id: 'm1', channel: 'general', body: hostile, createdAt: '2026-01-02T00:00:00.000Z', editedAt: null, author: null, likeCount: 0 },
  { id: 'm2', channel: 'general', body: 'mine', createdAt: '2026-01-01T00:00:00.000Z', editedAt: null, author: { id: ada.id, username: 'ada', displayName: 'Ada' }, likeCount: 2, likedByMe: true },
];

beforeEach(() => {
  vi.stubGlobal('EventSource', SilentSource);
  window.history.replaceState(null, '', '/');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('the client', () => {
  it('logs in, then shows the board with bodies as text and authors as the API gave them', async () => {
    window.history.replaceState(null, '', '/login');
    const { server, session } = renderApp({
      'POST /api/auth/refresh': () => apiError(401, 'INVALID_REFRESH_TOKEN'),
      'POST /api/auth/login': () => json(200, issued('t1')),
      'GET /api/messages': () => json(200, { messages, nextCursor: null }),
      'POST /api/events/ticket': () => json(200, { ticket: 'k'.repeat(43), expiresIn: 30 }),
    });
    await session.restore();
    await screen.findByRole('heading', { name: 'Log in' });
    expect(window.location.pathname).toBe('/login');
    await userEvent.type(screen.getByLabelText('Email'), 'ada@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'correct-horse');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    const feed = await screen.findByRole('feed');
    await waitFor(() => expect(within(feed).getAllByRole('article')).toHaveLength(2));
    const [other, mine] = within(feed).getAllByRole('article');
    expect(other?.textContent).toContain(hostile);
    expect(feed.querySelector('img, script')).toBeNull();
    expect(within(other as HTMLElement).getByText('Author hidden')).toBeTruthy();
    expect(within(other as HTMLElement).queryByRole('button', { name: 'Delete' })).toBeNull();
    expect(within(mine as HTMLElement).getByRole('button', { name: 'Edit' })).toBeTruthy();
    expect(server.calls.find((c) => c.route === 'GET /api/messages')?.authorization).toBe('Bearer t1');
    session.dispose();
  });

  it('shows a wrong password as an alert and stays on the login screen', async () => {
    window.history.replaceState(null, '', '/login');
    const { session } = renderApp({
      'POST /api/auth/refresh': () => apiError(401, 'INVALID_REFRESH_TOKEN'),
      'POST /api/auth/login': () => json(401, { error: { code: 'INVALID_CREDENTIALS', message: 'Wrong email or password', requestId: 'r' } }),
    });
    await session.restore();
    await userEvent.type(await screen.findByLabelText('Email'), 'ada@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'nope');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Wrong email or password');
  });
});

describe('the board', () => {
  it('loads older pages on the keyset cursor, newest first', async () => {
    const older: Message = { ...messages[1]!, id: 'm0', body: 'oldest', createdAt: '2025-12-31T00:00:00.000Z' };
    const cursor = 'c'.repeat(86);
    const { server, session } = renderApp({
      'POST /api/auth/refresh': () => json(200, issued('t1')),
      'GET /api/messages': (_init, _n, url) =>
        json(200, url.searchParams.get('before') === cursor ? { messages: [older], nextCursor: null } : { messages, nextCursor: cursor }),
      'POST /api/events/ticket': () => json(200, { ticket: 'k'.repeat(43), expiresIn: 30 }),
    });
    await session.restore();
    const feed = await screen.findByRole('feed');
    await waitFor(() => expect(within(feed).getAllByRole('article')).toHaveLength(2));
    await userEvent.click(screen.getByRole('button', { name: 'Load older messages' }));
    await waitFor(() => expect(within(feed).getAllByRole('article')).toHaveLength(3));
    expect(within(feed).getAllByRole('article').map((article) => article.getAttribute('data-message-id'))).toEqual(['m1', 'm2', 'm0']);
    expect(server.calls.filter((c) => c.route === 'GET /api/messages').map((c) => c.url.searchParams.get('channel'))).toEqual(['general', 'general']);
    expect(screen.queryByRole('button', { name: 'Load older messages' })).toBeNull();
    session.dispose();
  });
});

describe('MessageItem', () => {
  it('lets a member like and unlike, and shows a user the count only', async () => {
    const like = vi.fn(async () => undefined);
    const member: User = { ...ada, id: 'member', role: 'member' };
    render(<MessageItem message={messages[1] as Message} user={member} actions={{ edit: vi.fn(), remove: vi.fn(), like }} />);
    const button = screen.getByRole('button', { name: 'Liked · 2' });
    expect(button.getAttribute('aria-pressed')).toBe('true');
    await userEvent.click(button);
    expect(like).toHaveBeenCalledWith('m2', false);
    cleanup();
    render(<MessageItem message={messages[1] as Message} user={{ ...ada, id: 'someone' }} actions={{ edit: vi.fn(), remove: vi.fn(), like }} />);
    expect(screen.queryByRole('button', { name: /Like/ })).toBeNull();
    expect(screen.getByText('2 likes')).toBeTruthy();
  });

  it('edits its own message in place', async () => {
    const edit = vi.fn(async () => undefined);
    render(<MessageItem message={messages[1] as Message} user={ada} actions={{ edit, remove: vi.fn(), like: vi.fn() }} />);
    await userEvent.click(screen.getByRole('button', { name: 'Edit' }));
    const box = screen.getByLabelText('Edit message');
    await userEvent.clear(box);
    await userEvent.type(box, 'changed');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(edit).toHaveBeenCalledWith('m2', 'changed');
  });

  const admin: User = { ...ada, id: 'admin', role: 'admin' };
  it('lets an admin delete any message, in two presses, and edit only their own', async () => {
    const remove = vi.fn(async () => undefined);
    render(<MessageItem message={messages[1] as Message} user={admin} actions={{ edit: vi.fn(), remove, like: vi.fn() }} />);
    expect(screen.queryByRole('button', { name: 'Edit' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Delete' }));
    expect(remove).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('button', { name: 'Delete this message' }));
    expect(remove).toHaveBeenCalledWith('m2');
  });
});

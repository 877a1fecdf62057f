import { cleanup, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message, User } from '../src/api/types';
import { ada, json } from './fake-api';
import { SilentSource, renderSignedIn } from './render';

const AVATAR = '/api/users/00000000-0000-4000-8000-00000000000b/avatar?v=2';
const member: User = { ...ada, role: 'member' };
const message = (author: Message['author']): Message => ({
  id: 'm1',
  channel: 'general',
  body: 'hello',
  createdAt: '2026-01-01T00:00:01.000Z',
  editedAt: null,
  author,
  likeCount: 0,
  likedByMe: false,
});
const webp = () => new Response(new Uint8Array([82, 73, 70, 70]), { status: 200, headers: { 'content-type': 'image/webp' } });

beforeEach(() => {
  vi.stubGlobal('EventSource', SilentSource);
  URL.createObjectURL = vi.fn(() => 'blob:avatar');
  URL.revokeObjectURL = vi.fn();
  window.history.replaceState(null, '', '/');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('avatars', () => {
  it('shows an author avatar where the API gives one, fetched with the access token', async () => {
    const { server, session } = renderSignedIn(member, {
      'GET /api/messages': () => json(200, { messages: [message({ id: 'b', username: 'bob', displayName: 'Bob', avatarUrl: AVATAR })], nextCursor: null }),
      'GET /api/users/00000000-0000-4000-8000-00000000000b/avatar': () => webp(),
    });
    await session.restore();
    const article = await screen.findByRole('article');
    await waitFor(() => expect(article.querySelector('img.avatar')?.getAttribute('src')).toBe('blob:avatar'));
    const fetched = server.calls.find((call) => call.route === 'GET /api/users/00000000-0000-4000-8000-00000000000b/avatar');
    expect(fetched?.authorization).toBe('Bearer t1');
    expect(fetched?.url.search).toBe('?v=2');
    session.dispose();
  });

  it('shows none where the API hides the author (a user looking at someone else), and fetches none', async () => {
    const { server, session } = renderSignedIn(ada, { 'GET /api/messages': () => json(200, { messages: [message(null)], nextCursor: null }) });
    await session.restore();
    const article = await screen.findByRole('article');
    expect(within(article).getByText('Author hidden')).toBeTruthy();
    expect(article.querySelector('img')).toBeNull();
    expect(server.calls.some((call) => call.route.includes('/avatar'))).toBe(false);
    session.dispose();
  });

  it('uploads a chosen image as the raw body, refuses other types and sizes before sending, and shows last active', async () => {
    window.history.replaceState(null, '', '/profile');
    let profile: User = { ...member, avatarUrl: null, lastActiveAt: '2026-01-02T03:04:05.000Z' };
    const { server, session } = renderSignedIn(member, {
      'GET /api/users/me': () => json(200, { user: profile }),
      'PUT /api/users/me/avatar': () => {
        profile = { ...profile, avatarUrl: `/api/users/${member.id}/avatar?v=1` };
        return json(200, { user: profile });
      },
      [`GET /api/users/${member.id}/avatar`]: () => webp(),
    });
    await session.restore();
    await screen.findByRole('heading', { name: 'Avatar' });
    expect(screen.getByText('Last active').nextElementSibling?.querySelector('time')?.getAttribute('dateTime')).toBe('2026-01-02T03:04:05.000Z');
    const input = screen.getByLabelText(/Upload an avatar/) as HTMLInputElement;

    await userEvent.upload(input, new File(['GIF89a'], 'a.gif', { type: 'image/gif' }), { applyAccept: false });
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'Choose a PNG, JPEG or WebP image.');
    await userEvent.upload(input, new File([new Uint8Array(2 * 1024 * 1024 + 1)], 'big.png', { type: 'image/png' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('The image is larger than 2 MB.'));
    expect(server.calls.some((call) => call.route === 'PUT /api/users/me/avatar')).toBe(false);

    await userEvent.upload(input, new File([new Uint8Array([137, 80, 78, 71])], 'me.png', { type: 'image/png' }));
    await screen.findByRole('status');
    const sent = server.calls.find((call) => call.route === 'PUT /api/users/me/avatar');
    expect(sent?.headers.get('content-type')).toBe('image/png');
    expect(sent?.authorization).toBe('Bearer t1');
    await waitFor(() => expect(screen.getByAltText('Your avatar').getAttribute('src')).toBe('blob:avatar'));
    expect(screen.getByRole('button', { name: 'Remove avatar' })).toBeTruthy();
    session.dispose();
  });
});

import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../src/api/types';
import { apiError, json } from './fake-api';
import { renderApp } from './render';

/** Records the URLs streams are opened with; never opens. */
class RecordingSource extends EventTarget {
  static urls: string[] = [];
  readonly CLOSED = 2;
  readyState = 0;
  onopen = null;
  onerror = null;
  constructor(url: string) {
    super();
    RecordingSource.urls.push(url);
  }
  close() {}
}

const visible: Message[] = [
  { id: 'v1', channel: 'general', body: 'read me', createdAt: '2026-01-02T00:00:00.000Z', editedAt: null, author: null, likeCount: 3 },
];

/** No session: no csrf_token cookie either. */
const renderVisitor = (routes: Parameters<typeof renderApp>[0]) => renderApp(routes, '');

beforeEach(() => {
  RecordingSource.urls = [];
  vi.stubGlobal('EventSource', RecordingSource);
  window.history.replaceState(null, '', '/');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('a visitor (no session)', () => {
  it('reads the board without a token: channels, messages without authors, a stream without a ticket, and a call to log in', async () => {
    const { server, session } = renderVisitor({
      'GET /api/messages': () => json(200, { messages: visible, nextCursor: null }),
      'GET /api/channels': () => json(200, { channels: [{ name: 'cats', messageCount: 1, lastMessageAt: '2026-01-02T00:00:00.000Z' }] }),
    });
    await session.restore();
    const feed = await screen.findByRole('feed');
    await waitFor(() => expect(within(feed).getAllByRole('article')).toHaveLength(1));
    const article = within(feed).getByRole('article');
    expect(within(article).getByText('Author hidden')).toBeTruthy();
    expect(within(article).getByText('3 likes')).toBeTruthy();
    expect(within(article).queryAllByRole('button')).toHaveLength(0);
    expect(screen.queryByLabelText(/^Message to #/)).toBeNull();
    expect(await screen.findByRole('link', { name: '#cats' })).toBeTruthy();
    expect(screen.getAllByRole('link', { name: 'Log in' }).length).toBeGreaterThan(0);
    expect(screen.getByRole('link', { name: 'Register' })).toBeTruthy();
    expect(window.location.pathname).toBe('/');
    // No token on any read, no ticket bought, and a stream opened without one.
    expect(server.calls.filter((c) => c.route.startsWith('GET ')).every((c) => c.authorization === null)).toBe(true);
    expect(server.calls.some((c) => c.route === 'POST /api/events/ticket')).toBe(false);
    await waitFor(() => expect(RecordingSource.urls).toHaveLength(1));
    const url = new URL(RecordingSource.urls[0]!, 'https://board.test');
    expect(url.pathname).toBe('/api/events');
    expect(url.searchParams.get('ticket')).toBeNull();
    expect(url.searchParams.get('channels')).toBe('general');
  });

  it('is sent to the login screen when the deployment turns public reads off (401)', async () => {
    const { session } = renderVisitor({
      'GET /api/messages': () => apiError(401, 'UNAUTHORIZED'),
      'GET /api/channels': () => apiError(401, 'UNAUTHORIZED'),
    });
    await session.restore();
    await screen.findByRole('heading', { name: 'Log in' });
    expect(window.location.pathname).toBe('/login');
    // Not "your session has ended": there was none.
    expect(screen.queryByText(/session has ended/)).toBeNull();
  });

  it('is asked to log in on any screen but the board', async () => {
    window.history.replaceState(null, '', '/profile');
    const { session } = renderVisitor({});
    await session.restore();
    await screen.findByRole('heading', { name: 'Log in' });
    expect(window.location.pathname).toBe('/login');
  });
});

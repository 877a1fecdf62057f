import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { User } from '../src/api/types';
import { App } from '../src/app/App';
import { BoardProvider } from '../src/app/context';
import { SessionManager } from '../src/session/session';
import { fakeServer, issued, json } from './fake-api';

/** The stream is not under test: one that never opens. */
export class SilentSource extends EventTarget {
  readonly CLOSED = 2;
  readyState = 0;
  onopen = null;
  onerror = null;
  close() {}
}

type Routes = Parameters<typeof fakeServer>[0];

/** The whole client against a fake API; `cookies` is what the page's document.cookie says. */
export function renderApp(routes: Routes, cookies = 'csrf_token=' + 'c'.repeat(43)) {
  const server = fakeServer(routes);
  const session = new SessionManager({ fetch: server.fetch, cookies: () => cookies, now: () => Date.now() });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <BoardProvider session={session}>
        <App />
      </BoardProvider>
    </QueryClientProvider>,
  );
  return { server, session };
}

/** renderApp for `user`, whose session the refresh cookie restores; a stream ticket and no channels come with it. */
export const renderSignedIn = (user: User, routes: Routes) =>
  renderApp({
    'POST /api/auth/refresh': () => json(200, issued('t1', user)),
    'POST /api/events/ticket': () => json(200, { ticket: 'k'.repeat(43), expiresIn: 30 }),
    'GET /api/channels': () => json(200, { channels: [] }),
    ...routes,
  });

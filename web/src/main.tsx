import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { BoardProvider } from './app/context';
import { ApiError } from './api/errors';
import { browserSession } from './session/session';
import './styles.css';

const session = browserSession();
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Live events keep the pages current; a refetch on every focus would only repeat them.
      refetchOnWindowFocus: false,
      staleTime: 30_000,
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});
// Whoever signs in next starts from nothing: no page of the last account stays in the cache.
session.subscribe(() => {
  if (session.getState().status === 'signedOut') queryClient.clear();
});
void session.restore();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <BoardProvider session={session}>
          <App />
        </BoardProvider>
      </QueryClientProvider>
    </StrictMode>,
  );
}

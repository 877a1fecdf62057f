import { useSyncExternalStore } from 'react';

/** A few client routes need no router library: the History API and one event. */
const NAVIGATE = 'board:navigate';

export function navigate(to: string, replace = false): void {
  if (to === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE));
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATE, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATE, listener);
  };
}

export const usePath = (): string => useSyncExternalStore(subscribe, () => window.location.pathname);

export type Route =
  | { screen: 'login' }
  | { screen: 'register' }
  | { screen: 'board'; channel: string }
  | { screen: 'membership' }
  | { screen: 'sessions' }
  | { screen: 'profile' }
  | { screen: 'bookmarks' }
  | { screen: 'admin' }
  | { screen: 'notFound' };

const CHANNEL = /^\/c\/([a-z0-9]+(?:-[a-z0-9]+)*)\/?$/;

export function routeOf(path: string): Route {
  if (path === '/' || path === '') return { screen: 'board', channel: 'general' };
  const channel = CHANNEL.exec(path)?.[1];
  if (channel !== undefined && channel.length <= 32) return { screen: 'board', channel };
  const name = path.replace(/^\/+|\/+$/g, '');
  switch (name) {
    case 'login':
    case 'register':
    case 'membership':
    case 'sessions':
    case 'profile':
    case 'bookmarks':
    case 'admin':
      return { screen: name };
    default:
      return { screen: 'notFound' };
  }
}

/** A plain link that navigates without reloading (and still opens in a new tab when asked). */
export const link =
  (to: string) =>
  (event: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean; preventDefault(): void }): void => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };

import { useEffect, type ReactNode } from 'react';
import { AdminScreen } from '../features/admin/AdminScreen';
import { LoginScreen } from '../features/auth/LoginScreen';
import { RegisterScreen } from '../features/auth/RegisterScreen';
import { BookmarksScreen } from '../features/bookmarks/BookmarksScreen';
import { BoardScreen } from '../features/board/BoardScreen';
import { MembershipScreen } from '../features/membership/MembershipScreen';
import { ProfileScreen } from '../features/profile/ProfileScreen';
import { SessionsScreen } from '../features/sessions/SessionsScreen';
import { useSessionState } from './context';
import { Layout } from './Layout';
import { link, navigate, routeOf, usePath } from './router';

const PUBLIC_SCREENS = new Set(['login', 'register']);

export function App() {
  const state = useSessionState();
  const path = usePath();
  const route = routeOf(path);
  const isPublic = PUBLIC_SCREENS.has(route.screen);
  // A page load with no session reads the board as a visitor; an ended session, and every other
  // screen, ask to log in.
  const visiting = state.status === 'signedOut' && state.reason === undefined && route.screen === 'board';

  useEffect(() => {
    if (state.status === 'signedOut' && !isPublic && !visiting) navigate(`/login?next=${encodeURIComponent(path)}`, true);
    if (state.status === 'signedIn' && isPublic) navigate(nextPath(), true);
  }, [state.status, isPublic, visiting, path]);

  if (state.status === 'restoring') {
    return (
      <main className="centered" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (visiting && route.screen === 'board') {
    return (
      <Layout user={undefined} channel={route.channel}>
        <BoardScreen key={route.channel} channel={route.channel} user={undefined} />
      </Layout>
    );
  }
  if (state.status === 'signedOut' || isPublic) {
    if (route.screen === 'register') return <RegisterScreen />;
    return <LoginScreen ended={state.status === 'signedOut' && state.reason === 'ended'} />;
  }

  const user = state.user;
  let screen: ReactNode;
  switch (route.screen) {
    case 'board':
      screen = <BoardScreen key={route.channel} channel={route.channel} user={user} />;
      break;
    case 'membership':
      screen = <MembershipScreen user={user} />;
      break;
    case 'bookmarks':
      screen = user.role === 'user' ? <NotFound /> : <BookmarksScreen user={user} />;
      break;
    case 'sessions':
      screen = <SessionsScreen />;
      break;
    case 'profile':
      screen = <ProfileScreen />;
      break;
    case 'admin':
      screen = user.role === 'admin' ? <AdminScreen self={user} /> : <NotFound />;
      break;
    default:
      screen = <NotFound />;
  }
  return (
    <Layout user={user} channel={route.screen === 'board' ? route.channel : undefined}>
      {screen}
    </Layout>
  );
}

/** Where the login screen was sent from, if it is a path of this client. */
function nextPath(): string {
  const next = new URLSearchParams(window.location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && !PUBLIC_SCREENS.has(routeOf(next).screen) ? next : '/';
}

function NotFound() {
  return (
    <section aria-labelledby="not-found">
      <h1 id="not-found">Not found</h1>
      <p>
        <a href="/" onClick={link('/')}>
          Back to the board
        </a>
      </p>
    </section>
  );
}

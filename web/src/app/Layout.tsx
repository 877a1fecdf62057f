import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import type { User } from '../api/types';
import { useBoard } from './context';
import { link, navigate, usePath } from './router';

/** Offered even before they hold a message; the API lists the channels that do (GET /api/channels). */
export const SUGGESTED_CHANNELS = ['general', 'random'];

/** The frame of every signed-in screen, and of the board a visitor (no `user`) reads. */
export function Layout({ user, channel, children }: { user: User | undefined; channel: string | undefined; children: ReactNode }) {
  const { session, api } = useBoard();
  const path = usePath();
  const listed = useQuery({ queryKey: ['channels'], queryFn: () => api.channels(), staleTime: 60_000 });
  const channels = [...new Set([...SUGGESTED_CHANNELS, ...(listed.data?.channels.map((c) => c.name) ?? []), ...(channel ? [channel] : [])])];
  const item = (to: string, label: string) => (
    <li key={to}>
      <a href={to} onClick={link(to)} aria-current={path === to ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        {user ? (
          <>
            <nav aria-label="Account">
              <ul>
                {user.role === 'user' && item('/membership', 'Become a member')}
                {user.role !== 'user' && item('/bookmarks', 'Bookmarks')}
                {item('/sessions', 'Sessions')}
                {item('/profile', 'Profile')}
                {user.role === 'admin' && item('/admin', 'Admin')}
              </ul>
            </nav>
            <p className="who">
              Signed in as <strong>{user.displayName}</strong> (@{user.username}, <span data-testid="role">{user.role}</span>)
            </p>
            <button type="button" onClick={() => void session.logout()}>
              Log out
            </button>
          </>
        ) : (
          <nav aria-label="Account" className="visitor-nav">
            <p className="who">Reading as a visitor.</p>
            <ul>
              {item(`/login?next=${encodeURIComponent(path)}`, 'Log in')}
              {item('/register', 'Register')}
            </ul>
          </nav>
        )}
      </header>
      <div className="frame">
        <nav aria-label="Channels" className="channels">
          <h2>Channels</h2>
          <ul>{channels.map((name) => item(`/c/${name}`, `#${name}`))}</ul>
          <OpenChannel />
        </nav>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </>
  );
}

function OpenChannel() {
  const [name, setName] = useState('');
  const valid = /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name) && name.length <= 32;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!valid) return;
    navigate(`/c/${name}`);
    setName('');
  };
  return (
    <form onSubmit={submit} className="open-channel">
      <label htmlFor="open-channel">Open a channel</label>
      <input id="open-channel" value={name} onChange={(e) => setName(e.target.value.toLowerCase())} pattern="[a-z0-9]+(-[a-z0-9]+)*" maxLength={32} />
      <button type="submit" disabled={!valid}>
        Open
      </button>
    </form>
  );
}

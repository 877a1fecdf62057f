import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import { ConfirmButton } from '../../app/ConfirmButton';
import { useBoard } from '../../app/context';

export function ProfileScreen() {
  const { api, session } = useBoard();
  const client = useQueryClient();
  const me = useQuery({ queryKey: ['me'], queryFn: () => api.me() });
  const [name, setName] = useState<string | undefined>();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const user = me.data?.user;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (name === undefined) return;
    try {
      const { user: saved } = await api.changeDisplayName(name);
      client.setQueryData(['me'], { user: saved });
      // The header shows the name from the token's user: a refresh brings the new one.
      await session.reload();
      setName(undefined);
      setMessage({ ok: true, text: 'Display name saved.' });
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    }
  };
  const remove = async () => {
    try {
      await api.deleteAccount();
      session.ended();
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    }
  };

  return (
    <section aria-labelledby="profile-title">
      <h1 id="profile-title">Profile</h1>
      {me.isError && (
        <p role="alert" className="error">
          {errorText(me.error)}
        </p>
      )}
      {user && (
        <>
          <dl>
            <dt>Username</dt>
            <dd>@{user.username}</dd>
            <dt>Email</dt>
            <dd>{user.email}</dd>
            <dt>Role</dt>
            <dd>{user.role}</dd>
            <dt>Member since</dt>
            <dd>
              <time dateTime={user.createdAt}>{new Date(user.createdAt).toLocaleDateString()}</time>
            </dd>
          </dl>
          <form onSubmit={(e) => void save(e)}>
            <label htmlFor="display-name">Display name</label>
            <input id="display-name" required maxLength={64} value={name ?? user.displayName} onChange={(e) => setName(e.target.value)} />
            <button type="submit" disabled={name === undefined || name.trim() === ''}>
              Save
            </button>
          </form>
        </>
      )}
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      <h2>Delete account</h2>
      <p>Deletes your profile, sessions and every message you wrote. This cannot be undone.</p>
      <ConfirmButton label="Delete my account" confirmLabel="Delete my account and messages for good" onConfirm={() => void remove()} />
    </section>
  );
}

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import { Avatar } from '../../app/Avatar';
import { ConfirmButton } from '../../app/ConfirmButton';
import { useBoard } from '../../app/context';

/** What the server takes (user-service checks the bytes again): checked here to answer at once. */
const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

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
  const upload = async (file: File | undefined) => {
    if (!file) return;
    if (!AVATAR_TYPES.includes(file.type)) {
      setMessage({ ok: false, text: 'Choose a PNG, JPEG or WebP image.' });
      return;
    }
    if (file.size > AVATAR_MAX_BYTES) {
      setMessage({ ok: false, text: 'The image is larger than 2 MB.' });
      return;
    }
    try {
      const { user: saved } = await api.uploadAvatar(file);
      client.setQueryData(['me'], { user: saved });
      setMessage({ ok: true, text: 'Avatar saved.' });
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    }
  };
  const removeAvatar = async () => {
    try {
      await api.deleteAvatar();
      await client.invalidateQueries({ queryKey: ['me'] });
      setMessage({ ok: true, text: 'Avatar removed.' });
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
            <dt>Last active</dt>
            <dd>{user.lastActiveAt ? <time dateTime={user.lastActiveAt}>{new Date(user.lastActiveAt).toLocaleString()}</time> : 'not yet recorded'}</dd>
          </dl>
          <h2>Avatar</h2>
          <Avatar url={user.avatarUrl} size={96} label="Your avatar" />
          <label htmlFor="avatar-file">Upload an avatar (PNG, JPEG or WebP, at most 2 MB)</label>
          <input id="avatar-file" type="file" accept={AVATAR_TYPES.join(',')} onChange={(e) => void upload(e.target.files?.[0])} />
          {user.avatarUrl && (
            <button type="button" onClick={() => void removeAvatar()}>
              Remove avatar
            </button>
          )}
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

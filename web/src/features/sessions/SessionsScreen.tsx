import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import type { Session } from '../../api/types';
import { ConfirmButton } from '../../app/ConfirmButton';
import { useBoard } from '../../app/context';

const device = (session: Session) => session.userAgent ?? 'Unknown device';

export function SessionsScreen() {
  const { api, session } = useBoard();
  const client = useQueryClient();
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: () => api.sessions() });
  const revoke = useMutation({
    mutationFn: (id: string) => api.revokeSession(id),
    onSuccess: () => client.invalidateQueries({ queryKey: ['sessions'] }),
  });

  return (
    <section aria-labelledby="sessions-title">
      <h1 id="sessions-title">Sessions</h1>
      <p>Every device logged in to this account, most recently used first.</p>
      {sessions.isError && (
        <p role="alert" className="error">
          {errorText(sessions.error)}
        </p>
      )}
      {revoke.isError && (
        <p role="alert" className="error">
          {errorText(revoke.error)}
        </p>
      )}
      <table>
        <caption className="visually-hidden">Sessions</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Address</th>
            <th scope="col">Logged in</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.data?.sessions.map((s) => (
            <tr key={s.id} data-session-id={s.id}>
              <td>
                {device(s)}
                {s.current && <strong> (this device)</strong>}
              </td>
              <td>{s.ip ?? '—'}</td>
              <td>
                <time dateTime={s.createdAt}>{new Date(s.createdAt).toLocaleString()}</time>
              </td>
              <td>
                <time dateTime={s.lastUsedAt}>{new Date(s.lastUsedAt).toLocaleString()}</time>
              </td>
              <td>
                {s.current ? (
                  <button type="button" onClick={() => void session.logout()}>
                    Log out
                  </button>
                ) : (
                  <ConfirmButton label="Log out this device" confirmLabel={`Log out ${device(s)}`} onConfirm={() => revoke.mutate(s.id)} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Everywhere</h2>
      <ConfirmButton label="Log out everywhere" confirmLabel="Log out every device, this one too" onConfirm={() => void session.logout(true)} />
      <ChangePassword onChanged={() => void client.invalidateQueries({ queryKey: ['sessions'] })} />
    </section>
  );
}

function ChangePassword({ onChanged }: { onChanged: () => void }) {
  const { api } = useBoard();
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api.changePassword(oldPassword, newPassword);
      setOld('');
      setNew('');
      setMessage({ ok: true, text: 'Password changed. Every other device is logged out.' });
      onChanged();
    } catch (caught) {
      setMessage({ ok: false, text: errorText(caught) });
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <label htmlFor="old-password">Current password</label>
      <input id="old-password" type="password" autoComplete="current-password" required value={oldPassword} onChange={(e) => setOld(e.target.value)} />
      <label htmlFor="new-password">New password</label>
      <input id="new-password" type="password" autoComplete="new-password" required minLength={8} value={newPassword} onChange={(e) => setNew(e.target.value)} />
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      <button type="submit">Change password</button>
    </form>
  );
}

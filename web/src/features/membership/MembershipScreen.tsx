import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import type { User } from '../../api/types';
import { useBoard } from '../../app/context';

export function MembershipScreen({ user }: { user: User }) {
  const { api, session } = useBoard();
  const client = useQueryClient();
  const [passcode, setPasscode] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { user: updated } = await api.becomeMember(passcode);
      // The role travels in the access token: a new one carries it, without logging out.
      await session.reload(updated.role);
      await client.invalidateQueries({ queryKey: ['messages'] });
      setPasscode('');
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="membership-title">
      <h1 id="membership-title">Membership</h1>
      {user.role === 'user' ? (
        <>
          <p>Members see who wrote each message. Enter the passcode to become one.</p>
          <form onSubmit={(e) => void submit(e)}>
            <label htmlFor="passcode">Passcode</label>
            <input id="passcode" type="password" required maxLength={256} autoComplete="off" value={passcode} onChange={(e) => setPasscode(e.target.value)} />
            {error && (
              <p role="alert" className="error">
                {error}
              </p>
            )}
            <button type="submit" disabled={busy}>
              Become a member
            </button>
          </form>
        </>
      ) : (
        <p role="status">You are a {user.role}: you see every message's author.</p>
      )}
    </section>
  );
}

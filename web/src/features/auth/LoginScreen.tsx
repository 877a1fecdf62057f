import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import { useBoard } from '../../app/context';
import { link } from '../../app/router';

export function LoginScreen({ ended }: { ended: boolean }) {
  const { session } = useBoard();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await session.login(email, password);
    } catch (caught) {
      setError(errorText(caught));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="centered">
      <section className="card" aria-labelledby="login-title">
        <h1 id="login-title">Log in</h1>
        {ended && <p role="status">Your session has ended. Log in again.</p>}
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor="login-email">Email</label>
          <input id="login-email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
          <button type="submit" disabled={busy}>
            Log in
          </button>
        </form>
        <p>
          No account yet?{' '}
          <a href="/register" onClick={link('/register')}>
            Register
          </a>
        </p>
      </section>
    </main>
  );
}

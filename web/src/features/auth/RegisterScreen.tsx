import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import { useBoard } from '../../app/context';
import { link } from '../../app/router';

export function RegisterScreen() {
  const { session, api } = useBoard();
  const [form, setForm] = useState({ email: '', username: '', displayName: '', password: '' });
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const field = (name: keyof typeof form) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [name]: e.target.value })),
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const displayName = form.displayName.trim();
      await api.register({ email: form.email, username: form.username, password: form.password, ...(displayName ? { displayName } : {}) });
      // Registering does not log in; the same credentials do, at once.
      await session.login(form.email, form.password);
    } catch (caught) {
      setError(errorText(caught));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="centered">
      <section className="card" aria-labelledby="register-title">
        <h1 id="register-title">Register</h1>
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor="register-email">Email</label>
          <input id="register-email" type="email" autoComplete="email" required maxLength={254} {...field('email')} />
          <label htmlFor="register-username">Username</label>
          <input
            id="register-username"
            autoComplete="username"
            required
            pattern="[a-zA-Z0-9_]{3,32}"
            aria-describedby="register-username-hint"
            {...field('username')}
          />
          <p id="register-username-hint" className="hint">
            3 to 32 letters, digits or underscores; it cannot change later.
          </p>
          <label htmlFor="register-display">Display name (optional)</label>
          <input id="register-display" maxLength={64} {...field('displayName')} />
          <label htmlFor="register-password">Password</label>
          <input
            id="register-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            aria-describedby="register-password-hint"
            {...field('password')}
          />
          <p id="register-password-hint" className="hint">
            At least 8 characters.
          </p>
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
          <button type="submit" disabled={busy}>
            Create account
          </button>
        </form>
        <p>
          Have an account?{' '}
          <a href="/login" onClick={link('/login')}>
            Log in
          </a>
        </p>
      </section>
    </main>
  );
}

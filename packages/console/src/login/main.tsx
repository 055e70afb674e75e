import { StrictMode, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { ApiRequestError, CONSOLE_BASE, send } from '../shared/api-client';
import { ErrorBanner, TextField } from '../shared/form-controls';

/** The one public page: the admin token, once, for a session cookie. */
function Login() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const login = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setFormError(undefined);
    if (token.trim() === '') return setError('Enter the admin token.');
    setBusy(true);
    try {
      await send<void>('POST', `${CONSOLE_BASE}/login`, { token: token.trim() }, 'throw');
      window.location.assign(`${CONSOLE_BASE}/`);
    } catch (failure) {
      setBusy(false);
      if (failure instanceof ApiRequestError && failure.status === 401) setError(failure.message);
      else setFormError(failure instanceof Error ? failure.message : String(failure));
    }
  };

  return (
    <main className="login">
      <div className="login-card card">
        <p className="brand">
          <span className="brand-mark" aria-hidden="true" />
          mailbeacon
        </p>
        <h1>Log in to the console</h1>
        <p className="lead">Use the admin token (ADMIN_TOKEN; <code>npm start</code> prints it).</p>
        <form onSubmit={login} noValidate>
          <TextField name="token" label="Admin token" type="password" value={token} onChange={setToken} error={error} autoComplete="current-password" autoFocus mono />
          <ErrorBanner message={formError} />
          <button type="submit" className="button button-primary button-wide" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </form>
      </div>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Login />
  </StrictMode>,
);

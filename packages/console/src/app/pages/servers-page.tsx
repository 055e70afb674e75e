import { useState, type FormEvent } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import { fieldErrorsOf, type FieldErrors } from '../../shared/field-errors';
import { ErrorBanner, TextField } from '../../shared/form-controls';
import { api } from '../api';
import { ServerRows } from '../components/server-rows';
import { href, navigate } from '../router';
import { useLoad } from '../use-load';

/** Every server with its number of tracking domains; adding one. */
export function ServersPage() {
  const servers = useLoad(() => Promise.all([api.listServers(), api.listDomains()]), 'servers');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const server = await api.addServer(name);
      navigate(href.server(server.token));
    } catch (failure) {
      setErrors(failure instanceof ApiRequestError && failure.issues.length > 0 ? fieldErrorsOf(failure.issues, { name }) : { form: (failure as Error).message });
      setBusy(false);
    }
  };

  const [list, domains] = servers.data ?? [];
  return (
    <>
      <header className="page-header">
        <h1>Servers</h1>
        <p className="lead">Each server is one sender on your platform. Its tracking domains carry the links and the open pixel of its mail.</p>
      </header>
      <ErrorBanner message={servers.error} />
      {list && domains && (
        <section className="card" aria-label="Servers">
          {list.length === 0 ? (
            <p className="empty">No servers yet. Add the first one below.</p>
          ) : (
            <ServerRows
              servers={list}
              to={(server) => href.server(server.token)}
              meta={(server) => {
                const count = domains.filter((domain) => domain.server === server.token).length;
                return count === 0 ? 'no tracking domain' : count === 1 ? '1 tracking domain' : `${count} tracking domains`;
              }}
            />
          )}
        </section>
      )}
      <section className="card">
        <h2>Add a server</h2>
        <form className="inline-form" onSubmit={add} noValidate>
          <TextField name="name" label="Name" value={name} onChange={setName} placeholder="Newsletters" error={errors.name} />
          <button type="submit" className="button button-primary" disabled={busy}>
            Add server
          </button>
        </form>
        <ErrorBanner message={errors.form} />
      </section>
    </>
  );
}

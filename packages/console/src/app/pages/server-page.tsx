import { useState, type FormEvent } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import { fieldErrorsOf, type FieldErrors } from '../../shared/field-errors';
import { ErrorBanner, TextField } from '../../shared/form-controls';
import type { TrackingDomain } from '../../shared/types';
import { api } from '../api';
import { ApiKeysSection } from '../components/api-keys-section';
import { CheckPanel } from '../components/check-panel';
import { ConfirmDialog } from '../components/confirm-dialog';
import { formatTime, StatusBadge } from '../components/status-badge';
import { href, navigate } from '../router';
import { useLoad } from '../use-load';

/** One server: rename, delete, and its tracking domains (the seed's Domains → Tracking Domains). */
export function ServerPage({ token }: { token: string }) {
  const loaded = useLoad(async () => {
    const servers = await api.listServers();
    const server = servers.find((candidate) => candidate.token === token);
    return { server, domains: server ? await api.listDomains(token) : [] };
  }, token);
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);

  if (loaded.error) return <ErrorBanner message={loaded.error} />;
  if (!loaded.data) return <p className="muted">Loading…</p>;
  const { server, domains } = loaded.data;
  if (!server) return <ErrorBanner message={`No server has the token ${token}.`} />;

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href.servers()}>Servers</a> <span aria-hidden="true">/</span> <span>{server.name}</span>
      </nav>
      <header className="page-header page-header-actions">
        <div>
          <h1>{server.name}</h1>
          <p className="lead">
            Token <code>{server.token}</code> · added {formatTime(server.createdAt)}
          </p>
        </div>
        <div className="actions">
          <a className="button" href={href.serverNumbers(token)}>
            Numbers
          </a>
          <button type="button" className="button" onClick={() => setRenaming(true)}>
            Rename
          </button>
          <button type="button" className="button button-danger-quiet" onClick={() => setDeleting(true)}>
            Delete server
          </button>
        </div>
      </header>
      {renaming && <RenameForm token={token} name={server.name} onDone={() => (setRenaming(false), loaded.reload())} />}
      {deleting && (
        <ConfirmDialog
          title={`Delete ${server.name}?`}
          confirmLabel="Delete server"
          onConfirm={async () => {
            await api.deleteServer(token);
            navigate(href.servers());
          }}
          onClose={() => setDeleting(false)}
        >
          <p>A server can only be deleted once it has no tracking domains and no API keys in force. Its token stops being accepted for new messages.</p>
        </ConfirmDialog>
      )}
      <section aria-labelledby="domains-title">
        <div className="section-header">
          <h2 id="domains-title">Tracking domains</h2>
          <a className="button button-primary" href={href.newDomain(token)}>
            Add a tracking domain
          </a>
        </div>
        {domains.length === 0 ? (
          <div className="card empty">
            <p>No tracking domain yet: mail from this server goes out untracked.</p>
          </div>
        ) : (
          <ul className="domain-list">
            {domains.map((domain) => (
              <DomainCard key={domain.host} domain={domain} onChanged={loaded.reload} />
            ))}
          </ul>
        )}
      </section>
      <ApiKeysSection token={token} />
    </>
  );
}

function RenameForm({ token, name, onDone }: { token: string; name: string; onDone(): void }) {
  const [value, setValue] = useState(name);
  const [errors, setErrors] = useState<FieldErrors>({});
  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api.renameServer(token, value);
      onDone();
    } catch (failure) {
      setErrors(failure instanceof ApiRequestError && failure.issues.length > 0 ? fieldErrorsOf(failure.issues, { name: value }) : { form: (failure as Error).message });
    }
  };
  return (
    <section className="card">
      <form className="inline-form" onSubmit={save} noValidate aria-label="Rename the server">
        <TextField name="name" label="New name" value={value} onChange={setValue} error={errors.name} autoFocus hint="The token stays the same: it is in every tracking link already sent." />
        <button type="submit" className="button button-primary">
          Save name
        </button>
      </form>
      <ErrorBanner message={errors.form} />
    </section>
  );
}

function DomainCard({ domain, onChanged }: { domain: TrackingDomain; onChanged(): void }) {
  const [checking, setChecking] = useState(false);
  const [removing, setRemoving] = useState(false);
  const { verification } = domain;
  return (
    <li className="card domain" aria-label={domain.host}>
      <div className="domain-head">
        <h3 className="domain-host">{domain.host}</h3>
        <StatusBadge verification={verification} />
      </div>
      <ul className="chips" aria-label="Settings">
        <li className={domain.ssl ? 'chip' : 'chip chip-warning'}>{domain.ssl ? 'HTTPS' : 'Plain HTTP'}</li>
        <li className={domain.trackClicks ? 'chip' : 'chip chip-off'}>Clicks {domain.trackClicks ? 'tracked' : 'not tracked'}</li>
        <li className={domain.trackOpens ? 'chip' : 'chip chip-off'}>Opens {domain.trackOpens ? 'tracked' : 'not tracked'}</li>
        {domain.excludedDomains.length > 0 && <li className="chip">Not tracked: {domain.excludedDomains.join(', ')}</li>}
      </ul>
      {verification.checkedAt && (
        <p className={`last-check ${verification.status === 'failed' ? 'last-check-failed' : ''}`}>
          Last check {formatTime(verification.checkedAt)}: {verification.message}
        </p>
      )}
      <div className="actions">
        <button type="button" className="button" onClick={() => setChecking(true)} disabled={checking}>
          Check
        </button>
        <a className="button" href={href.editDomain(domain.host)}>
          Edit
        </a>
        <button type="button" className="button button-danger-quiet" onClick={() => setRemoving(true)}>
          Remove
        </button>
      </div>
      {checking && <CheckPanel host={domain.host} onChecked={onChanged} />}
      {removing && (
        <ConfirmDialog title={`Remove ${domain.host}?`} confirmLabel="Remove tracking domain" onConfirm={async () => (await api.removeDomain(domain.host), onChanged())} onClose={() => setRemoving(false)}>
          <p>New messages from this server will no longer be tracked through {domain.host}. Links in mail already sent keep working.</p>
        </ConfirmDialog>
      )}
    </li>
  );
}

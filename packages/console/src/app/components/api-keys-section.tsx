import { useRef, useState, type FormEvent } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import { fieldErrorsOf, type FieldErrors } from '../../shared/field-errors';
import { ErrorBanner, TextField } from '../../shared/form-controls';
import type { ApiKey } from '../../shared/types';
import { api } from '../api';
import { useLoad } from '../use-load';
import { ConfirmDialog } from './confirm-dialog';
import { formatTime } from './status-badge';

/** A server's read-only API keys for its numbers (apps/admin/README.md, "API keys"): list, create, revoke. */
export function ApiKeysSection({ token }: { token: string }) {
  const keys = useLoad(() => api.listApiKeys(token), `keys ${token}`);
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<ApiKey & { key: string }>();
  const [revoking, setRevoking] = useState<ApiKey>();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      setCreated(await api.createApiKey(token, name));
      setName('');
      keys.reload();
    } catch (failure) {
      setErrors(failure instanceof ApiRequestError && failure.issues.length > 0 ? fieldErrorsOf(failure.issues, { name }) : { form: (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="keys-title">
      <div className="section-header">
        <h2 id="keys-title">API keys</h2>
      </div>
      <p className="lead section-lead">Read-only keys for this server&apos;s numbers (the stats API), to give a customer their own numbers and nothing else.</p>
      <div className="card">
        <form className="inline-form" onSubmit={create} noValidate aria-label="New API key">
          <TextField name="name" label="Who holds it" value={name} onChange={setName} error={errors.name} placeholder="Acme dashboard" hint="Optional: a name to recognise the key by." />
          <button type="submit" className="button button-primary" disabled={busy}>
            Create API key
          </button>
        </form>
        <ErrorBanner message={errors.form} />
        {created && <NewKey apiKey={created} onDone={() => setCreated(undefined)} />}
      </div>
      <ErrorBanner message={keys.error} />
      {keys.data && keys.data.length > 0 && (
        <div className="card table-card">
          <div className="table-scroll">
            <table className="table keys-table" aria-labelledby="keys-title">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.data.map((key) => (
                  <tr key={key.id} aria-label={`API key ${key.prefix}`} className={key.revokedAt ? 'row-revoked' : undefined}>
                    <th scope="row">{key.name ?? <span className="muted">unnamed</span>}</th>
                    <td className="mono nowrap" data-label="Key">
                      {key.prefix}…
                    </td>
                    <td className="nowrap" data-label="Created">
                      {formatTime(key.createdAt)}
                    </td>
                    <td className="nowrap" data-label="Last used">
                      {key.lastUsedAt ? formatTime(key.lastUsedAt) : <span className="muted">never</span>}
                    </td>
                    <td data-label="Status">{key.revokedAt ? <span className="badge badge-unchecked">Revoked {formatTime(key.revokedAt)}</span> : <span className="badge badge-ok">Active</span>}</td>
                    <td className="cell-actions">
                      {!key.revokedAt && (
                        <button type="button" className="button button-danger-quiet button-small" onClick={() => setRevoking(key)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke ${revoking.prefix}…?`}
          confirmLabel="Revoke API key"
          onConfirm={async () => {
            await api.revokeApiKey(token, revoking.id);
            if (created?.id === revoking.id) setCreated(undefined);
            keys.reload();
          }}
          onClose={() => setRevoking(undefined)}
        >
          <p>
            {revoking.name ? `${revoking.name} loses` : 'Whoever holds it loses'} access to this server&apos;s numbers at once. This cannot be undone: a new key would have to be created and handed over.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** The key itself, shown this once. */
function NewKey({ apiKey, onDone }: { apiKey: ApiKey & { key: string }; onDone(): void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'copied' | 'select'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(apiKey.key);
      setCopied('copied');
    } catch {
      // No clipboard (a page over plain http is no secure context): select it for Ctrl+C.
      input.current?.select();
      setCopied('select');
    }
  };
  return (
    <div className="new-key" role="region" aria-label="The new API key">
      <p className="new-key-title">
        Key created{apiKey.name ? ` for ${apiKey.name}` : ''}. <strong>Copy it now: you will not see it again.</strong>
      </p>
      <div className="new-key-row">
        <input ref={input} className="mono" readOnly value={apiKey.key} aria-label="API key" onFocus={(event) => event.target.select()} />
        <button type="button" className="button button-primary" onClick={copy}>
          {copied === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === 'select' && <p className="hint">Selected: press Ctrl+C (⌘C) to copy it.</p>}
      <p className="hint">
        Use it as <code>Authorization: Bearer {apiKey.prefix}…</code> on <code>GET /servers/{apiKey.server}/stats/…</code>. Only its first characters are kept to recognise it.
      </p>
      <div className="actions">
        <button type="button" className="button" onClick={onDone}>
          I have copied it
        </button>
      </div>
    </div>
  );
}

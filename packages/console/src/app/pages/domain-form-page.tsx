import { useEffect, useState, type FormEvent } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import { fieldErrorsOf, type FieldErrors } from '../../shared/field-errors';
import { ErrorBanner, TextField, Toggle } from '../../shared/form-controls';
import type { TrackingDomain } from '../../shared/types';
import { api } from '../api';
import { href, navigate } from '../router';
import { useLoad } from '../use-load';

/** The seed's own words, shown when SSL is turned off. */
const SSL_WARNING = 'It is highly recommended that you use SSL for these connections. Anything else is likely to cause problems with reputation and user experience.';

/** One domain per line, or separated by commas or spaces, as people paste them. */
const domainsIn = (text: string) => text.split(/[\s,]+/).filter(Boolean);

interface DomainFormProps {
  /** Adding for this server… */
  token?: string;
  /** …or editing this domain. */
  host?: string;
}

/** "Add a tracking domain" (the seed's form) and editing one: the same fields, the same checks. */
export function DomainFormPage({ token, host }: DomainFormProps) {
  const existing = useLoad(() => (host === undefined ? Promise.resolve(undefined) : api.getDomain(host)), host ?? '');
  if (existing.error) return <ErrorBanner message={existing.error} />;
  if (host !== undefined && !existing.data) return <p className="muted">Loading…</p>;
  return <DomainForm token={token ?? existing.data!.server} existing={existing.data} />;
}

function DomainForm({ token, existing }: { token: string; existing?: TrackingDomain }) {
  const [host, setHost] = useState(existing?.host ?? '');
  const [ssl, setSsl] = useState(existing?.ssl ?? true);
  const [trackClicks, setTrackClicks] = useState(existing?.trackClicks ?? true);
  const [trackOpens, setTrackOpens] = useState(existing?.trackOpens ?? true);
  const [excluded, setExcluded] = useState(existing?.excludedDomains.join('\n') ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const servers = useLoad(() => api.listServers(), 'servers');
  const serverName = servers.data?.find((server) => server.token === token)?.name ?? token;
  // Focus only when a save brings errors back, not when editing a field clears its own.
  useEffect(() => {
    if (Object.keys(errors).length > 0) document.querySelector<HTMLElement>('[aria-invalid="true"], .banner-error')?.focus();
  }, [busy]);
  /** A field being corrected no longer shows the error of the value it had. */
  const editing = (field: string, set: (value: string) => void) => (value: string) => {
    set(value);
    setErrors(({ [field]: _stale, ...rest }) => rest);
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    const settings = { ssl, trackClicks, trackOpens, excludedDomains: domainsIn(excluded) };
    try {
      if (existing) await api.updateDomain(existing.host, settings);
      else await api.addDomain({ host: host.trim(), server: token, ...settings });
      navigate(href.server(token));
    } catch (failure) {
      setBusy(false);
      if (!(failure instanceof ApiRequestError)) return setErrors({ form: String(failure) });
      if (failure.status === 409) return setErrors({ host: `${host.trim()} is already a tracking domain (of this or another server).` });
      if (failure.issues.length > 0) return setErrors(fieldErrorsOf(failure.issues, { host, ...settings }));
      setErrors({ form: failure.message });
    }
  };

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href.servers()}>Servers</a> <span aria-hidden="true">/</span> <a href={href.server(token)}>{serverName}</a> <span aria-hidden="true">/</span>{' '}
        <span>{existing ? existing.host : 'Add a tracking domain'}</span>
      </nav>
      <header className="page-header">
        <h1>{existing ? `Edit ${existing.host}` : 'Add a tracking domain'}</h1>
        {!existing && (
          <p className="lead">
            First point the host (e.g. <code>click.yourdomain.com</code>, on the domain you send from) at your web server, which passes it to the tracker adding{' '}
            <code>X-Postal-Track-Host: 1</code>. Visit it in a browser: it must answer <code>Hello.</code> Otherwise your messages will be sent with broken links and images.
          </p>
        )}
      </header>
      <form className="card form" onSubmit={save} noValidate aria-label={existing ? 'Tracking domain settings' : 'New tracking domain'}>
        {!existing && (
          <TextField
            name="host"
            label="Host"
            value={host}
            onChange={editing('host', setHost)}
            error={errors.host}
            placeholder="click.example.com"
            autoFocus
            mono
            hint="A subdomain of the domain your mail is sent from, so links look like the sender's own."
          />
        )}
        <fieldset>
          <legend>Configuration</legend>
          <Toggle name="ssl" label="Use SSL (https links)" checked={ssl} onChange={setSsl} hint="Highly recommended." />
          {!ssl && (
            <div className="banner banner-warning" role="note">
              {SSL_WARNING}
            </div>
          )}
          <Toggle name="trackClicks" label="Track clicks" checked={trackClicks} onChange={setTrackClicks} hint="Links go through the tracking domain and are counted." />
          <Toggle name="trackOpens" label="Track opens" checked={trackOpens} onChange={setTrackOpens} hint="An invisible image is added to each HTML message." />
        </fieldset>
        <TextField
          name="excludedDomains"
          label="Excluded link domains"
          value={excluded}
          onChange={editing('excludedDomains', setExcluded)}
          error={errors.excludedDomains}
          multiline
          mono
          placeholder="yourdomain.com"
          hint="Links to these domains (and their subdomains) are never tracked. One per line."
        />
        <ErrorBanner message={errors.form ?? errors.server} />
        <div className="actions">
          <a className="button" href={href.server(token)}>
            Cancel
          </a>
          <button type="submit" className="button button-primary" disabled={busy}>
            {existing ? 'Save changes' : 'Add tracking domain'}
          </button>
        </div>
      </form>
    </>
  );
}

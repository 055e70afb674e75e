import { useState, type FormEvent } from 'react';
import { ApiRequestError } from '../../shared/api-client';
import { ErrorBanner } from '../../shared/form-controls';
import type { MessageTimeline, TimelineEntry } from '../../shared/types';
import { api } from '../api';
import { useLoad } from '../use-load';
import { formatCount, formatUtcTime, readableUrl, reasonLabel } from './format';

interface MessageLookupProps {
  token: string;
  /** The message in the URL (its token or the platform's id), '' for none. */
  message: string;
  onLookup(message: string): void;
}

/** A message by the platform's message id or its token, and what happened to it. */
export function MessageLookup({ token, message, onLookup }: MessageLookupProps) {
  const [text, setText] = useState(message);
  const found = useLoad(async () => {
    if (!message) return undefined;
    try {
      return await api.message(token, message);
    } catch (failure) {
      if (failure instanceof ApiRequestError && failure.status === 404) return null;
      throw failure;
    }
  }, `${token} ${message}`);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onLookup(text.trim());
  };
  return (
    <section className="card" aria-labelledby="lookup-title">
      <h2 id="lookup-title">Message lookup</h2>
      <form className="lookup-form" onSubmit={submit} role="search" aria-label="Find a message">
        <label htmlFor="lookup-input" className="visually-hidden">
          Message id or token
        </label>
        <input id="lookup-input" className="mono" type="search" value={text} onChange={(event) => setText(event.target.value)} placeholder="Message id or token" spellCheck={false} autoComplete="off" />
        <button type="submit" className="button" disabled={!text.trim()}>
          Look up
        </button>
      </form>
      {message && found.error && <ErrorBanner message={found.error} />}
      {message && !found.error && found.data === undefined && (
        <p className="muted" role="status">
          Looking up {message}…
        </p>
      )}
      {found.data === null && (
        <p className="lookup-none" role="status">
          This server has no message with the id or token <code>{message}</code>.
        </p>
      )}
      {found.data && <MessageDetails message={found.data} />}
    </section>
  );
}

function MessageDetails({ message }: { message: MessageTimeline }) {
  const facts: Array<[string, string | null]> = [
    ['Platform id', message.platformMessageId],
    ['Token', message.token],
    ['Recipient', message.recipient],
    ['Tag', message.tag],
    ['Tracking domain', message.trackingDomain],
    ['Opens', `${formatCount(message.humanOpens)} by people · ${formatCount(message.opens)} in all`],
    ['Clicks', `${formatCount(message.humanClicks)} by people · ${formatCount(message.clicks)} in all`],
  ];
  return (
    <div className="message" aria-label="The message">
      <dl className="facts">
        {facts.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd className={label === 'Token' || label === 'Platform id' ? 'mono' : undefined}>{value ?? '–'}</dd>
          </div>
        ))}
      </dl>
      <h3 className="timeline-title">Timeline</h3>
      {message.truncated && <TruncationNote message={message} />}
      <ol className="timeline" aria-label="Timeline">
        {message.timeline.map((entry, index) => (
          <TimelineItem key={index} entry={entry} />
        ))}
      </ol>
      {message.timeline.length === 1 && <p className="muted">Not opened or clicked yet.</p>}
    </div>
  );
}

/** The API caps a timeline at the newest opens and clicks; say how many of each are shown. */
function TruncationNote({ message }: { message: MessageTimeline }) {
  const shown = (type: TimelineEntry['type']) => message.timeline.filter((entry) => entry.type === type).length;
  return (
    <p className="muted" role="note">
      Showing the newest {formatCount(shown('open'))} of {formatCount(message.opens)} opens and the newest {formatCount(shown('click'))} of {formatCount(message.clicks)} clicks.
    </p>
  );
}

const KINDS = { sent: 'Sent', open: 'Opened', click: 'Clicked' } as const;

function TimelineItem({ entry }: { entry: TimelineEntry }) {
  return (
    <li className={`timeline-entry timeline-${entry.type}`}>
      <span className="timeline-dot" aria-hidden="true" />
      <div className="timeline-head">
        <span className="timeline-kind">{KINDS[entry.type]}</span>
        <time dateTime={entry.at}>{formatUtcTime(entry.at)}</time>
        {entry.type !== 'sent' && (
          <span className={entry.machine ? 'badge badge-failed' : 'badge badge-ok'}>{entry.machine ? `Machine: ${reasonLabel(entry.machineReason ?? 'unknown')}` : 'Person'}</span>
        )}
      </div>
      {entry.type === 'click' && (
        <p className="timeline-link">
          Link {entry.linkIndex}:{' '}
          <a href={entry.url} title={entry.url} target="_blank" rel="noreferrer noopener">
            {readableUrl(entry.url)}
          </a>
        </p>
      )}
      {entry.type !== 'sent' && (
        <dl className="timeline-details">
          <div>
            <dt>IP</dt>
            <dd className="mono">{entry.ip ?? 'not stored'}</dd>
          </div>
          <div>
            <dt>User agent</dt>
            <dd className="mono">{entry.userAgent || '(none)'}</dd>
          </div>
          {entry.method !== 'GET' && (
            <div>
              <dt>Method</dt>
              <dd className="mono">{entry.method}</dd>
            </div>
          )}
          {entry.type === 'open' && entry.proxy && (
            <div>
              <dt>Image proxy</dt>
              <dd>{entry.proxy}</dd>
            </div>
          )}
        </dl>
      )}
    </li>
  );
}

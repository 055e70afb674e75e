import { useEffect, useId, useState } from 'react';
import { ErrorBanner } from '../../shared/form-controls';
import type { StatsLinks, StatsSummary, StatsTags } from '../../shared/types';
import { api } from '../api';
import { ServerRows } from '../components/server-rows';
import { formatCount, formatRate, formatUtcDate, readableUrl, reasonLabel } from '../numbers/format';
import { MessageLookup } from '../numbers/message-lookup';
import { paramsOf, RANGE_LABELS, statsQueryOf, utcDay, viewOf, type NumbersView, type RangeChoice } from '../numbers/numbers-view';
import { SeriesChart } from '../numbers/series-chart';
import { useNumbers, type ViewNumbers } from '../numbers/use-numbers';
import { href, navigate } from '../router';
import { useLoad } from '../use-load';

/** "Numbers" in the top bar: which server's. */
export function NumbersPage() {
  const servers = useLoad(() => api.listServers(), 'servers');
  return (
    <>
      <header className="page-header">
        <h1>Numbers</h1>
        <p className="lead">Messages sent, opens and clicks of each server, over time. Choose a server.</p>
      </header>
      <ErrorBanner message={servers.error} />
      {!servers.data && !servers.error && <p className="muted">Loading…</p>}
      {servers.data && (
        <section className="card" aria-label="Servers">
          {servers.data.length === 0 ? (
            <p className="empty">
              No servers yet: add one under <a href={href.servers()}>Servers</a>.
            </p>
          ) : (
            <ServerRows servers={servers.data} to={(server) => href.serverNumbers(server.token)} />
          )}
        </section>
      )}
    </>
  );
}

/** One server's numbers over the range and filters of the URL, and the message lookup. */
export function ServerNumbersPage({ token, params }: { token: string; params: URLSearchParams }) {
  const view = viewOf(params);
  const query = statsQueryOf(view);
  const numbers = useNumbers(token, query);
  const context = useLoad(async () => ({ server: (await api.listServers()).find((server) => server.token === token), domains: await api.listDomains(token) }), token);
  const show = (change: Partial<NumbersView>) => navigate(href.serverNumbers(token, paramsOf({ ...view, ...change })));

  const current = numbers.data?.key === query.toString() ? numbers.data : undefined;
  const shown = current ?? numbers.data; // the previous view's numbers stay, dimmed, while the new ones load
  const serverName = context.data?.server?.name ?? token;

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href.servers()}>Servers</a> <span aria-hidden="true">/</span> <a href={href.server(token)}>{serverName}</a> <span aria-hidden="true">/</span> <span>Numbers</span>
      </nav>
      <header className="page-header">
        <h1>Numbers</h1>
        <p className="lead">
          {serverName}
          {shown && (
            <>
              {' '}
              · {rangeLabel(shown.summary.from, shown.summary.to)}
            </>
          )}
        </p>
      </header>
      <Filters view={view} tags={shown?.tags?.tags.map((row) => row.tag).filter((tag): tag is string => tag !== null) ?? []} domains={context.data?.domains.map((domain) => domain.host) ?? []} onChange={show} />
      {context.data && !context.data.server && <ErrorBanner message={`No server has the token ${token}.`} />}
      {numbers.error && (
        <div className="banner banner-error state-error" role="alert">
          <span>The numbers could not be loaded: {numbers.error}</span>
          <button type="button" className="button" onClick={numbers.reload}>
            Try again
          </button>
        </div>
      )}
      {!shown && !numbers.error && <NumbersLoading />}
      {shown && (
        <div className={current ? 'numbers' : 'numbers numbers-stale'} aria-busy={!current}>
          {isEmpty(shown.summary) ? <NoMail view={view} onChange={show} /> : <Dashboard numbers={shown} audience={view.audience} />}
        </div>
      )}
      <MessageLookup key={view.message} token={token} message={view.message} onLookup={(message) => show({ message })} />
    </>
  );
}

/** The range's days (UTC), its end being exclusive: "2 Dec 2026", or "26 Nov 2026 – 2 Dec 2026". */
function rangeLabel(from: string, to: string): string {
  const first = formatUtcDate(from);
  const last = formatUtcDate(new Date(Date.parse(to) - 1).toISOString());
  return `${first === last ? first : `${first} – ${last}`} (UTC)`;
}

const isEmpty = (summary: StatsSummary) => summary.messages === 0 && summary.machines.opens + summary.opens === 0 && summary.machines.clicks + summary.clicks === 0;

function Filters({ view, tags, domains, onChange }: { view: NumbersView; tags: string[]; domains: string[]; onChange(change: Partial<NumbersView>): void }) {
  const id = useId();
  const [from, setFrom] = useState(view.from);
  const [to, setTo] = useState(view.to);
  useEffect(() => {
    setFrom(view.from);
    setTo(view.to);
  }, [view.from, view.to]);
  const customError = from && to && to < from ? 'The last day must not be before the first.' : undefined;
  const applyCustom = (nextFrom: string, nextTo: string) => {
    if (nextFrom && nextTo && nextTo >= nextFrom) onChange({ range: 'custom', from: nextFrom, to: nextTo });
  };
  const tagOptions = [...new Set([...tags, ...(view.tag ? [view.tag] : [])])].sort();
  return (
    <section className="card filters" aria-label="Range and filters">
      <div className="filter-row">
        <div className="segmented" role="group" aria-label="Range">
          {(Object.keys(RANGE_LABELS) as RangeChoice[]).map((range) => (
            <button key={range} type="button" aria-pressed={view.range === range} onClick={() => (range === 'custom' ? applyCustom(from, to) : onChange({ range }))}>
              {RANGE_LABELS[range]}
            </button>
          ))}
        </div>
        <div className="segmented audience" role="group" aria-label="Who counts">
          <button type="button" aria-pressed={view.audience === 'people'} onClick={() => onChange({ audience: 'people' })}>
            People only
          </button>
          <button type="button" aria-pressed={view.audience === 'all'} onClick={() => onChange({ audience: 'all' })}>
            Everything
          </button>
        </div>
      </div>
      {view.range === 'custom' && (
        <div className="filter-row custom-range">
          <div className="field">
            <label htmlFor={`${id}-from`}>From</label>
            <input id={`${id}-from`} type="date" value={from} max={utcDay(Date.now())} onChange={(event) => (setFrom(event.target.value), applyCustom(event.target.value, to))} />
          </div>
          <div className={`field${customError ? ' field-invalid' : ''}`}>
            <label htmlFor={`${id}-to`}>To (included)</label>
            <input id={`${id}-to`} type="date" value={to} aria-invalid={customError ? true : undefined} onChange={(event) => (setTo(event.target.value), applyCustom(from, event.target.value))} />
          </div>
          {customError && (
            <p className="field-error" role="alert">
              {customError}
            </p>
          )}
        </div>
      )}
      <div className="filter-row">
        <div className="field field-inline">
          <label htmlFor={`${id}-tag`}>Tag</label>
          <select id={`${id}-tag`} value={view.tag} onChange={(event) => onChange({ tag: event.target.value })}>
            <option value="">All tags</option>
            {tagOptions.map((tag) => (
              <option key={tag} value={tag}>
                {tag}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-inline">
          <label htmlFor={`${id}-domain`}>Tracking domain</label>
          <select id={`${id}-domain`} value={view.trackingDomain} onChange={(event) => onChange({ trackingDomain: event.target.value })}>
            <option value="">All tracking domains</option>
            {[...new Set([...domains, ...(view.trackingDomain ? [view.trackingDomain] : [])])].map((host) => (
              <option key={host} value={host}>
                {host}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="hint audience-hint">
        {view.audience === 'people'
          ? 'Counting people only: security scanners, prefetchers, Apple Mail Privacy Protection and bots are left out (their share is below).'
          : 'Counting everything: machines’ opens and clicks are included.'}{' '}
        Times are UTC.
      </p>
    </section>
  );
}

function NumbersLoading() {
  return (
    <div className="numbers-loading" role="status" aria-label="Loading the numbers">
      <div className="kpis">
        {[0, 1, 2, 3, 4].map((n) => (
          <div key={n} className="kpi skeleton" />
        ))}
      </div>
      <div className="card skeleton skeleton-chart" />
      <p className="muted">Loading the numbers…</p>
    </div>
  );
}

function NoMail({ view, onChange }: { view: NumbersView; onChange(change: Partial<NumbersView>): void }) {
  const filtered = view.tag || view.trackingDomain;
  return (
    <div className="card empty-state" role="status">
      <h2>No mail in this range</h2>
      <p>
        No message was sent, opened or clicked {view.range === 'today' ? 'today' : 'in this range'}
        {filtered ? ' with these filters' : ''}.
      </p>
      <div className="actions">
        {view.range !== '30d' && (
          <button type="button" className="button" onClick={() => onChange({ range: '30d' })}>
            Show 30 days
          </button>
        )}
        {filtered && (
          <button type="button" className="button" onClick={() => onChange({ tag: '', trackingDomain: '' })}>
            Clear the filters
          </button>
        )}
      </div>
    </div>
  );
}

function Kpi({ label, value, detail }: { label: string; value: string; detail?: string }) {
  const id = useId();
  return (
    <div className="kpi" role="group" aria-labelledby={id}>
      <span className="kpi-label" id={id}>
        {label}
      </span>
      <span className="kpi-value">{value}</span>
      {detail && <span className="kpi-detail">{detail}</span>}
    </div>
  );
}

function Dashboard({ numbers, audience }: { numbers: ViewNumbers; audience: 'people' | 'all' }) {
  const { summary, series, tags, links } = numbers;
  useEffect(() => {
    // Navigation start → the numbers and the chart on screen (the console's first-render measure).
    if (performance.getEntriesByName('numbers-rendered').length === 0) performance.mark('numbers-rendered');
  }, []);
  return (
    <>
      <section className="kpis" aria-label="Summary">
        <Kpi label="Messages sent" value={formatCount(summary.messages)} />
        <Kpi label="Unique opens" value={formatCount(summary.uniqueOpens)} detail={`${formatRate(summary.openRate)} open rate`} />
        <Kpi label="Unique clicks" value={formatCount(summary.uniqueClicks)} detail={`${formatRate(summary.clickRate)} click rate · ${formatRate(summary.clickToOpenRate)} of opens`} />
        <Kpi label="Opens" value={formatCount(summary.opens)} detail="in all, repeats included" />
        <Kpi label="Clicks" value={formatCount(summary.clicks)} detail="in all, repeats included" />
      </section>
      <section className="card" aria-labelledby="chart-title">
        <div className="card-title-row">
          <h2 id="chart-title">Over time</h2>
          <span className="muted">{series.by === 'hour' ? 'per hour' : 'per day'}, UTC</span>
        </div>
        <SeriesChart series={series} />
      </section>
      <Machines summary={summary} audience={audience} />
      {links ? <LinksTable links={links} audience={audience} /> : <TableLoading title="Top links" />}
      {tags ? <TagsTable tags={tags} /> : <TableLoading title="By tag" />}
    </>
  );
}

function Machines({ summary, audience }: { summary: StatsSummary; audience: 'people' | 'all' }) {
  const { machines } = summary;
  const rows = (reasons: typeof machines.openReasons, total: number) =>
    reasons.length === 0 ? null : (
      <ul className="reasons">
        {reasons.map((row) => (
          <li key={row.reason}>
            <span className="reason-name">{reasonLabel(row.reason)}</span>
            <span className="reason-bar" aria-hidden="true">
              <span style={{ width: `${Math.max(4, (row.hits / Math.max(1, total)) * 100)}%` }} />
            </span>
            <span className="num">{formatCount(row.hits)}</span>
          </li>
        ))}
      </ul>
    );
  return (
    <section className="card" aria-labelledby="machines-title">
      <div className="card-title-row">
        <h2 id="machines-title">Machines</h2>
        <span className="muted">{audience === 'people' ? 'left out of the numbers above' : 'included in the numbers above'}</span>
      </div>
      <div className="two-columns two-columns-tight">
        <div aria-label="Machine opens" role="group">
          <p className="machine-share">{machines.opens === 0 ? 'No machine opens.' : <><span className="num">{formatCount(machines.opens)}</span> {machines.opens === 1 ? 'open' : 'opens'} · <span className="num">{formatRate(machines.openShare)}</span> of all opens</>}</p>
          {rows(machines.openReasons, machines.opens)}
        </div>
        <div aria-label="Machine clicks" role="group">
          <p className="machine-share">{machines.clicks === 0 ? 'No machine clicks.' : <><span className="num">{formatCount(machines.clicks)}</span> {machines.clicks === 1 ? 'click' : 'clicks'} · <span className="num">{formatRate(machines.clickShare)}</span> of all clicks</>}</p>
          {rows(machines.clickReasons, machines.clicks)}
        </div>
      </div>
    </section>
  );
}

/** A table's card while its numbers load (they come after the figures and the chart). */
function TableLoading({ title }: { title: string }) {
  return (
    <section className="card table-card" aria-label={title} aria-busy="true">
      <h2>{title}</h2>
      <p className="muted" role="status">
        Loading…
      </p>
    </section>
  );
}

function TagsTable({ tags }: { tags: StatsTags }) {
  return (
    <section className="card table-card" aria-labelledby="tags-title">
      <h2 id="tags-title">By tag</h2>
      {tags.tags.length === 0 ? (
        <p className="muted">No tagged mail in this range.</p>
      ) : (
        <div className="table-scroll">
          <table className="table" aria-labelledby="tags-title">
            <thead>
              <tr>
                <th scope="col">Tag</th>
                <th scope="col" className="num">Sent</th>
                <th scope="col" className="num">Opened</th>
                <th scope="col" className="num">Clicked</th>
              </tr>
            </thead>
            <tbody>
              {tags.tags.map((row) => (
                <tr key={row.tag ?? ''}>
                  <th scope="row">{row.tag ?? <span className="muted">untagged</span>}</th>
                  <td className="num">{formatCount(row.messages)}</td>
                  <td className="num" title={`${formatCount(row.uniqueOpens)} unique opens`}>{formatRate(row.openRate)}</td>
                  <td className="num" title={`${formatCount(row.uniqueClicks)} unique clicks`}>{formatRate(row.clickRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function LinksTable({ links, audience }: { links: StatsLinks; audience: 'people' | 'all' }) {
  return (
    <section className="card table-card" aria-labelledby="links-title">
      <h2 id="links-title">Top links</h2>
      {links.links.length === 0 ? (
        <p className="muted">No link was clicked in this range.</p>
      ) : (
        <div className="table-scroll">
          <table className="table" aria-labelledby="links-title">
            <thead>
              <tr>
                <th scope="col">Link</th>
                <th scope="col" className="num">{audience === 'people' ? 'People' : 'Clicks'}</th>
                <th scope="col" className="num">All</th>
              </tr>
            </thead>
            <tbody>
              {links.links.map((row) => (
                <tr key={row.url}>
                  <td className="link-cell">
                    <a href={row.url} title={row.url} target="_blank" rel="noreferrer noopener">
                      {readableUrl(row.url, 90)}
                    </a>
                  </td>
                  <td className="num">{formatCount(row.clicks)}</td>
                  <td className="num">{formatCount(row.allClicks)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

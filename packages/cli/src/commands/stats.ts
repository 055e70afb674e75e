import { InvalidPayloadError, parseServerToken, parseStatsQuery, type StatsQuery } from '@mailbeacon/contracts';
import { ServerRepository, StatsReader, statsScope, type Server, type StatsSummary } from '@mailbeacon/db';
import { NotFoundError, UsageError, type Command } from '../command';
import { exactly, parseCommandLine } from '../command-line';
import { withDatabase } from '../database-config';
import { jsonOutput, lines, table } from '../text-output';

const BY = ['hour', 'day', 'tag', 'link'] as const;
type By = (typeof BY)[number];

/** The stats query's fields as this command names them. */
const OPTION_OF: Record<string, string> = { from: '--since', to: '--until', range: '--range', tag: '--tag', trackingDomain: '--domain', by: '--by', limit: '--limit' };

const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);
const count = (value: number) => String(value);
const reasons = (list: { reason: string; hits: number }[]) => (list.length === 0 ? 'none' : list.map(({ reason, hits }) => `${reason} ${hits}`).join(', '));

function queryOf(values: { since?: string; until?: string; range?: string; tag?: string; domain?: string; all?: boolean; by?: string; limit?: string }): StatsQuery {
  const by = values.by === 'hour' || values.by === 'day' ? values.by : undefined;
  const data = {
    ...(values.since !== undefined && { from: values.since }), ...(values.until !== undefined && { to: values.until }),
    ...(values.range !== undefined && { range: values.range }), ...(values.tag !== undefined && { tag: values.tag }),
    ...(values.domain !== undefined && { trackingDomain: values.domain }), ...(values.all && { audience: 'all' }),
    ...(by && { by }), ...(values.limit !== undefined && { limit: values.limit }),
  };
  try {
    return parseStatsQuery(data);
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    throw new InvalidPayloadError(error.payload, error.issues.map((issue) => ({ ...issue, path: OPTION_OF[issue.path] ?? issue.path })));
  }
}

const SUMMARY_HEADER = ['SERVER', 'NAME', 'SENT', 'OPENED', 'OPEN RATE', 'CLICKED', 'CLICK RATE', 'CLICK/OPEN', 'OPENS', 'CLICKS', 'MACHINE OPENS', 'MACHINE CLICKS'];
const summaryRow = (server: Server, s: StatsSummary) => [
  server.token, server.name, count(s.messages), count(s.uniqueOpens), percent(s.openRate), count(s.uniqueClicks), percent(s.clickRate),
  percent(s.clickToOpenRate), count(s.opens), count(s.clicks), percent(s.machines.openShare), percent(s.machines.clickShare),
];

const describeScope = (query: StatsQuery) =>
  `${query.audience === 'people' ? 'people (machines left out; --all for everything)' : 'everything, machines included'}, ` +
  `${query.from.toISOString()} to ${query.to.toISOString()} (UTC)${query.tag !== undefined ? `, tag ${query.tag}` : ''}${query.trackingDomain !== undefined ? `, ${query.trackingDomain}` : ''}`;

const statsCommand: Command = {
  name: 'stats',
  synopsis: '[--server TOKEN] [--since WHEN --until WHEN | --range today|7d|30d] [--tag TAG] [--domain HOST] [--all] [--by hour|day|tag|link] [--limit N] [--json]',
  help: `Prints the numbers: messages sent, opened and clicked with rates, and the machines' share.
Without --server, one line per server; with it, that server's summary and why machines were
left out, or --by a breakdown. Times are UTC; counts cover the hours the range touches.

  --server TOKEN   one server (see mailbeacon servers list)
  --since WHEN     the range's start: 2026-11-20 (midnight UTC) or 2026-11-20T09:30:00Z
  --until WHEN     its end, excluded (default now)
  --range R        instead: today, 7d or 30d, whole UTC days ending today (default 7d)
  --tag TAG        only mail of this tag
  --domain HOST    only mail of this tracking domain
  --all            count machines too (default: people only)
  --by B           hour or day: a line per hour/day (zero-filled); tag: a line per tag;
                   link: the most clicked URLs across messages (needs --server)
  --limit N        how many links with --by link (default 20, at most 500)
  --json           the JSON the admin API answers (without --server: an array, one per server)`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, {
      server: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, range: { type: 'string' }, tag: { type: 'string' },
      domain: { type: 'string' }, all: { type: 'boolean' }, by: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' },
    });
    exactly(positionals, []);
    if (values.by !== undefined && !(BY as readonly string[]).includes(values.by)) throw new UsageError(`--by must be one of ${BY.join(', ')} (got ${JSON.stringify(values.by)})`);
    if (values.by !== undefined && values.server === undefined) throw new UsageError('--by needs --server');
    const token = values.server === undefined ? undefined : parseServerToken(values.server);
    const query = queryOf(values);
    const by = values.by as By | undefined;

    const out = await withDatabase(env, async (db) => {
      const servers = new ServerRepository(db);
      const stats = new StatsReader(db);
      if (token === undefined) {
        const all = await servers.list();
        return { kind: 'all' as const, rows: await Promise.all(all.map(async (server) => ({ server, summary: await stats.summary(statsScope(server.token, query)) }))) };
      }
      const server = await servers.findByToken(token);
      if (!server) throw new NotFoundError(`no server with token ${token} (see mailbeacon servers list)`);
      const scope = statsScope(server.token, query);
      if (by === 'hour' || by === 'day') return { kind: 'series' as const, server, json: { ...scope, by, points: await stats.series(scope, by) } };
      if (by === 'tag') return { kind: 'tags' as const, server, json: { ...scope, tags: await stats.byTag(scope) } };
      if (by === 'link') return { kind: 'links' as const, server, json: { ...scope, limit: query.limit, links: await stats.topLinks(scope, query.limit) } };
      return { kind: 'summary' as const, server, json: { ...scope, ...(await stats.summary(scope)) } };
    });

    const heading = lines([describeScope(query)]);
    switch (out.kind) {
      case 'all': {
        if (values.json) return { stdout: jsonOutput(out.rows.map(({ server, summary }) => ({ ...statsScope(server.token, query), ...summary }))), stderr: '', code: 0 };
        if (out.rows.length === 0) return { stdout: '', stderr: 'no servers yet: add one with `mailbeacon servers add NAME`\n', code: 0 };
        return { stdout: heading + table(SUMMARY_HEADER, out.rows.map(({ server, summary }) => summaryRow(server, summary))), stderr: '', code: 0 };
      }
      case 'summary': {
        if (values.json) return { stdout: jsonOutput(out.json), stderr: '', code: 0 };
        const machines = out.json.machines;
        return {
          stdout: heading + table(SUMMARY_HEADER, [summaryRow(out.server, out.json)]) +
            lines([`machine opens by reason: ${reasons(machines.openReasons)}`, `machine clicks by reason: ${reasons(machines.clickReasons)}`]),
          stderr: '', code: 0,
        };
      }
      case 'series': {
        if (values.json) return { stdout: jsonOutput(out.json), stderr: '', code: 0 };
        const rows = out.json.points.map((p) => [p.at.toISOString(), count(p.messages), count(p.uniqueOpens), count(p.uniqueClicks), count(p.opens), count(p.clicks)]);
        return { stdout: heading + table([out.json.by === 'hour' ? 'HOUR' : 'DAY', 'SENT', 'OPENED', 'CLICKED', 'OPENS', 'CLICKS'], rows), stderr: '', code: 0 };
      }
      case 'tags': {
        if (values.json) return { stdout: jsonOutput(out.json), stderr: '', code: 0 };
        const rows = out.json.tags.map((t) => [t.tag ?? '(none)', count(t.messages), count(t.uniqueOpens), percent(t.openRate), count(t.uniqueClicks), percent(t.clickRate), count(t.opens), count(t.clicks)]);
        return { stdout: heading + table(['TAG', 'SENT', 'OPENED', 'OPEN RATE', 'CLICKED', 'CLICK RATE', 'OPENS', 'CLICKS'], rows), stderr: '', code: 0 };
      }
      case 'links': {
        if (values.json) return { stdout: jsonOutput(out.json), stderr: '', code: 0 };
        const rows = out.json.links.map((link) => [count(link.clicks), count(link.allClicks), link.url]);
        return { stdout: heading + table([query.audience === 'people' ? 'PEOPLE' : 'CLICKS', 'ALL', 'URL'], rows), stderr: '', code: 0 };
      }
    }
  },
};

export const STATS_COMMAND: Command = statsCommand;

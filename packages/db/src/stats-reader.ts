import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema';

/*
 * Every read of the numbers (the stats API, `mailbeacon stats`, the console) goes through here.
 * Nothing scans the raw events for a range: counts come from the hourly rollups the aggregator
 * keeps (hourly_stats), the machines' reasons from machine_daily_stats and top links from
 * link_daily_stats; only a single message's timeline reads raw rows, by its token.
 *
 * Times are UTC. A range [from, to) covers the hours it touches (the machines' reasons and the
 * links: the days), since the rollups keep nothing finer.
 */

/** `people`: machines (scanners, prefetchers, Apple MPP…) left out — the default; `all`: everything. */
export type StatsAudience = 'people' | 'all';
export type StatsBucket = 'hour' | 'day';

export interface StatsScope {
  server: string;
  from: Date;
  to: Date;
  tag?: string;
  trackingDomain?: string;
  audience: StatsAudience;
}

export interface StatsCounts {
  /** Messages sent (rewritten) in the range. */
  messages: number;
  opens: number;
  /** Messages opened for the first time in the range. */
  uniqueOpens: number;
  clicks: number;
  /** Messages clicked for the first time in the range. */
  uniqueClicks: number;
}

export interface StatsRates {
  /** uniqueOpens / messages; null without messages. */
  openRate: number | null;
  /** uniqueClicks / messages. */
  clickRate: number | null;
  /** uniqueClicks / uniqueOpens. */
  clickToOpenRate: number | null;
}

export interface MachineReasonCount {
  reason: string;
  hits: number;
}

export interface MachineShare {
  /** Machine opens and clicks in the range (all minus people's). */
  opens: number;
  clicks: number;
  /** Their share of all opens (clicks); null when there were none. */
  openShare: number | null;
  clickShare: number | null;
  /**
   * Why, most frequent first. Counted per UTC day: for a range that starts or ends inside a day,
   * over the whole days it touches (so they may add up to more than `opens`/`clicks`).
   */
  openReasons: MachineReasonCount[];
  clickReasons: MachineReasonCount[];
}

export type StatsSummary = StatsCounts & StatsRates & { machines: MachineShare };

export interface SeriesPoint extends StatsCounts {
  /** Start of the bucket (UTC). */
  at: Date;
}

export type TagStats = StatsCounts & StatsRates & { /** null for untagged mail. */ tag: string | null };

export interface LinkStats {
  url: string;
  /** Clicks of the chosen audience (what the list is ordered by), and everyone's. */
  clicks: number;
  allClicks: number;
}

interface HitDetails {
  at: Date;
  /** As the tracker stored it (IP_STORAGE: truncated by default). */
  ip: string | null;
  userAgent: string | null;
  method: string;
  machine: boolean;
  machineReason: string | null;
}

export type TimelineEntry =
  | { type: 'sent'; at: Date }
  | (HitDetails & { type: 'open'; proxy: string | null })
  | (HitDetails & { type: 'click'; linkIndex: number; url: string });

export interface MessageTimeline {
  token: string;
  server: string;
  /** null while only its opens/clicks have arrived. */
  platformMessageId: string | null;
  recipient: string | null;
  tag: string | null;
  trackingDomain: string | null;
  linkCount: number | null;
  pixel: boolean | null;
  sentAt: Date | null;
  /** Everyone's and people's counts, as on the message. */
  opens: number;
  humanOpens: number;
  clicks: number;
  humanClicks: number;
  /**
   * Oldest first: the send, then the newest TIMELINE_HITS_SHOWN opens and the newest
   * TIMELINE_HITS_SHOWN clicks; raw opens and clicks older than the retention are gone (the
   * counts stay).
   */
  timeline: TimelineEntry[];
  /** Whether older opens or clicks were left out of the timeline for the cap (not for the retention). */
  truncated: boolean;
}

/** The newest opens (and the newest clicks) a message's timeline shows: a message opened by a scanner in a loop has thousands. */
export const TIMELINE_HITS_SHOWN = 200;

/** A read of the numbers ran longer than the connection's statement_timeout (PostgreSQL cancelled it). */
export class StatsQueryTimeoutError extends Error {
  override readonly name = 'StatsQueryTimeoutError';
}

/** PostgreSQL's query_canceled: a statement_timeout (or an operator's pg_cancel_backend). */
const QUERY_CANCELED = '57014';

async function withinTimeout<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if ((error as { code?: string }).code === QUERY_CANCELED) throw new StatsQueryTimeoutError(`reading the numbers took too long and was cancelled (${(error as Error).message})`);
    throw error;
  }
}

/** A query's scope on one server; the stats API's and `mailbeacon stats --json`'s answers start with it. */
export function statsScope(server: string, query: Omit<StatsScope, 'server'>): StatsScope {
  return {
    server, from: query.from, to: query.to, audience: query.audience,
    ...(query.tag !== undefined && { tag: query.tag }),
    ...(query.trackingDomain !== undefined && { trackingDomain: query.trackingDomain }),
  };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const floorTo = (at: Date, unitMs: number) => new Date(Math.floor(at.getTime() / unitMs) * unitMs);
const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

function ratesOf(counts: StatsCounts): StatsRates {
  return {
    openRate: ratio(counts.uniqueOpens, counts.messages),
    clickRate: ratio(counts.uniqueClicks, counts.messages),
    clickToOpenRate: ratio(counts.uniqueClicks, counts.uniqueOpens),
  };
}

/** hourly_stats sums of one audience, named as StatsCounts (bigint sums arrive as text). */
function countColumns(audience: StatsAudience): RawBuilder<unknown> {
  const prefix = audience === 'people' ? 'human_' : '';
  const sum = (column: string, as: string) => sql`coalesce(sum(${sql.ref(`${prefix}${column}`)}), 0)::float8 as ${sql.ref(as)}`;
  return sql.join([
    sql`coalesce(sum(messages), 0)::float8 as messages`,
    sum('opens', 'opens'),
    sum('unique_opens', 'uniqueOpens'),
    sum('clicks', 'clicks'),
    sum('unique_clicks', 'uniqueClicks'),
  ]);
}

/**
 * Give it a database whose connections have a statement_timeout (the admin API does: its own
 * small pool) and a query over it throws StatsQueryTimeoutError.
 */
export class StatsReader {
  constructor(private readonly db: Kysely<Database>) {}

  /** The rollup rows of the scope: its server, the hours (days) it touches, its tag and domain. */
  private where(scope: StatsScope, timeColumn: 'hour' | 'day'): RawBuilder<unknown> {
    const from = floorTo(scope.from, timeColumn === 'hour' ? HOUR_MS : DAY_MS);
    const conditions = [sql`server = ${scope.server}`, sql`${sql.ref(timeColumn)} >= ${from}`, sql`${sql.ref(timeColumn)} < ${scope.to}`];
    if (scope.tag !== undefined) conditions.push(sql`tag = ${scope.tag}`);
    if (scope.trackingDomain !== undefined) conditions.push(sql`tracking_domain = ${scope.trackingDomain}`);
    return sql.join(conditions, sql` and `);
  }

  summary(scope: StatsScope): Promise<StatsSummary> {
    return withinTimeout(this.readSummary(scope));
  }

  private async readSummary(scope: StatsScope): Promise<StatsSummary> {
    const where = this.where(scope, 'hour');
    const [counted, reasons] = await Promise.all([
      sql<StatsCounts & { machineOpens: number; machineClicks: number; allOpens: number; allClicks: number }>`
        select ${countColumns(scope.audience)},
               coalesce(sum(opens - human_opens), 0)::float8 as "machineOpens", coalesce(sum(clicks - human_clicks), 0)::float8 as "machineClicks",
               coalesce(sum(opens), 0)::float8 as "allOpens", coalesce(sum(clicks), 0)::float8 as "allClicks"
        from hourly_stats where ${where}`.execute(this.db),
      sql<{ kind: 'open' | 'click'; reason: string; hits: number }>`
        select kind, reason, sum(hits)::float8 as hits from machine_daily_stats where ${this.where(scope, 'day')}
        group by kind, reason having sum(hits) <> 0 order by kind, hits desc, reason`.execute(this.db),
    ]);
    const { machineOpens, machineClicks, allOpens, allClicks, ...counts } = counted.rows[0];
    const reasonsOf = (kind: 'open' | 'click') => reasons.rows.filter((row) => row.kind === kind).map(({ reason, hits }) => ({ reason, hits }));
    return {
      ...counts,
      ...ratesOf(counts),
      machines: {
        opens: machineOpens,
        clicks: machineClicks,
        openShare: ratio(machineOpens, allOpens),
        clickShare: ratio(machineClicks, allClicks),
        openReasons: reasonsOf('open'),
        clickReasons: reasonsOf('click'),
      },
    };
  }

  /** One point per hour or day of the range, zero-filled, oldest first. */
  series(scope: StatsScope, bucket: StatsBucket): Promise<SeriesPoint[]> {
    return withinTimeout(this.readSeries(scope, bucket));
  }

  private async readSeries(scope: StatsScope, bucket: StatsBucket): Promise<SeriesPoint[]> {
    const first = floorTo(scope.from, bucket === 'hour' ? HOUR_MS : DAY_MS);
    const step = bucket === 'hour' ? sql`interval '1 hour'` : sql`interval '1 day'`;
    const rows = await sql<SeriesPoint>`
      with counted as (
        select date_trunc(${bucket}, hour, 'UTC') as at, ${countColumns(scope.audience)}
        from hourly_stats where ${this.where(scope, 'hour')} group by 1
      )
      select buckets.at, coalesce(messages, 0) as messages, coalesce(opens, 0) as opens, coalesce("uniqueOpens", 0) as "uniqueOpens",
             coalesce(clicks, 0) as clicks, coalesce("uniqueClicks", 0) as "uniqueClicks"
      from generate_series(${first}::timestamptz, ${scope.to}::timestamptz - interval '1 microsecond', ${step}) as buckets(at)
      left join counted using (at)
      order by buckets.at`.execute(this.db);
    return rows.rows;
  }

  /** Every tag with mail or hits in the range, most messages first. */
  byTag(scope: StatsScope): Promise<TagStats[]> {
    return withinTimeout(this.readByTag(scope));
  }

  private async readByTag(scope: StatsScope): Promise<TagStats[]> {
    const rows = await sql<StatsCounts & { tag: string }>`
      select tag, ${countColumns(scope.audience)} from hourly_stats where ${this.where(scope, 'hour')}
      group by tag order by messages desc, tag`.execute(this.db);
    return rows.rows.map(({ tag, ...counts }) => ({ tag: tag === '' ? null : tag, ...counts, ...ratesOf(counts) }));
  }

  /** The most clicked URLs across messages (people's clicks by default), over the days the range touches. */
  topLinks(scope: StatsScope, limit: number): Promise<LinkStats[]> {
    return withinTimeout(this.readTopLinks(scope, limit));
  }

  private async readTopLinks(scope: StatsScope, limit: number): Promise<LinkStats[]> {
    const chosen = scope.audience === 'people' ? sql`human_clicks` : sql`clicks`;
    const rows = await sql<LinkStats>`
      select min(url) as url, sum(${chosen})::float8 as clicks, sum(clicks)::float8 as "allClicks"
      from link_daily_stats where ${this.where(scope, 'day')}
      group by url_md5 having sum(clicks) > 0
      order by 2 desc, 3 desc, 1 limit ${limit}`.execute(this.db);
    return rows.rows;
  }

  /**
   * One of the server's messages, by its token or the platform's message id (the token wins;
   * a platform id sent twice: the latest), with everything that happened to it.
   */
  message(server: string, idOrToken: string): Promise<MessageTimeline | undefined> {
    return withinTimeout(this.readMessage(server, idOrToken));
  }

  private async readMessage(server: string, idOrToken: string): Promise<MessageTimeline | undefined> {
    const row = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('server', '=', server)
      .where((eb) => eb.or([eb('token', '=', idOrToken), eb('platform_message_id', '=', idOrToken)]))
      .orderBy(sql`token = ${idOrToken}`, 'desc')
      .orderBy('sent_at', (order) => order.desc().nullsLast())
      .limit(1)
      .executeTakeFirst();
    if (!row) return undefined;
    // One more than shown, to know whether there were more (the counts on the row include
    // events the retention removed, so they cannot tell).
    const [openRows, clickRows] = await Promise.all([
      this.db.selectFrom('opens').selectAll().where('message_token', '=', row.token).orderBy('at', 'desc').limit(TIMELINE_HITS_SHOWN + 1).execute(),
      this.db.selectFrom('clicks').selectAll().where('message_token', '=', row.token).orderBy('at', 'desc').limit(TIMELINE_HITS_SHOWN + 1).execute(),
    ]);
    const truncated = openRows.length > TIMELINE_HITS_SHOWN || clickRows.length > TIMELINE_HITS_SHOWN;
    const [opens, clicks] = [openRows.slice(0, TIMELINE_HITS_SHOWN), clickRows.slice(0, TIMELINE_HITS_SHOWN)];
    const hit = (event: (typeof opens)[number] | (typeof clicks)[number]): HitDetails => ({
      at: event.at, ip: event.ip, userAgent: event.user_agent, method: event.method, machine: event.machine, machineReason: event.machine_reason,
    });
    const timeline: TimelineEntry[] = [
      ...(row.sent_at ? [{ type: 'sent' as const, at: row.sent_at }] : []),
      ...opens.map((open) => ({ type: 'open' as const, ...hit(open), proxy: open.proxy })),
      ...clicks.map((click) => ({ type: 'click' as const, ...hit(click), linkIndex: click.link_index, url: click.url })),
    ];
    // Stable: the message's send comes before a hit at the very same instant.
    timeline.sort((a, b) => a.at.getTime() - b.at.getTime());
    return {
      token: row.token, server: row.server, platformMessageId: row.platform_message_id, recipient: row.recipient, tag: row.tag,
      trackingDomain: row.tracking_domain, linkCount: row.link_count, pixel: row.pixel, sentAt: row.sent_at,
      opens: row.opens, humanOpens: row.human_opens, clicks: row.clicks, humanClicks: row.human_clicks, timeline, truncated,
    };
  }
}

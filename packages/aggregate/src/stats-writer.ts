import {
  classifyClick,
  classifyHit,
  clickTimingReason,
  DEFAULT_BURST_MIN_LINKS,
  DEFAULT_BURST_WINDOW_MS,
  DEFAULT_EARLY_CLICK_MS,
  findClickBursts,
  type Classification,
} from '@mailbeacon/classify';
import type { ClickEvent, OpenEvent, TrackedMessageEvent, TrackingEvent } from '@mailbeacon/contracts';
import type { Database, EventPartitions, MessagesTable } from '@mailbeacon/db';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { computeBatchDeltas, type ClickFact, type MessageArrival, type MessageState, type OpenFact } from './batch-deltas';

/*
 * One batch of events, one transaction. Every statement passes its rows as arrays bound to a
 * handful of parameters and expanded with unnest(), so a statement has the same ~12 bind
 * parameters whatever the batch size (Postgres allows 65,535 per statement) and the plan is
 * the same every time.
 */

export interface ClassificationSettings {
  /** A click sooner than this after the send time is a scanner's (default 2000). */
  earlyClickMs?: number;
  /** Distinct links of one message clicked from one IP within this window make a burst (default 2000). */
  burstWindowMs?: number;
  /** How many distinct links make a burst (default 3). */
  burstMinLinks?: number;
}

export interface WriteSummary {
  /** Events handed in, after dropping repeats of one id within the batch. */
  events: number;
  /** Events stored for the first time (the only ones counted). */
  stored: number;
  /** Events already stored by an earlier batch (redeliveries, spool replays). */
  duplicates: number;
  /** Stored clicks found to be a machine's by this batch's evidence. */
  reclassified: number;
  /** The same counts per event type. */
  byType: Record<TrackingEvent['type'], TypeWriteSummary>;
}

/** One event type's share of a batch. */
export interface TypeWriteSummary {
  /** Events of this type handed in (repeats of one id within the batch dropped). */
  events: number;
  stored: number;
  duplicates: number;
  /** The `at` (epoch ms) of each event stored for the first time: for lag metrics. */
  storedAt: number[];
}

const emptyByType = (): WriteSummary['byType'] => ({
  message: { events: 0, stored: 0, duplicates: 0, storedAt: [] },
  open: { events: 0, stored: 0, duplicates: 0, storedAt: [] },
  click: { events: 0, stored: 0, duplicates: 0, storedAt: [] },
});

/** Timestamps a batch reads as epoch milliseconds (see epochMs). */
type MessageTimes = 'sent_at' | 'first_opened_at' | 'last_opened_at' | 'first_human_opened_at' | 'first_clicked_at' | 'last_clicked_at' | 'first_human_clicked_at';
/** A `messages` row as lockMessages returns it. */
type MessageRow = Omit<Selectable<MessagesTable>, MessageTimes | 'updated_at'> & Record<MessageTimes, number | null>;

interface StoredClick {
  id: string;
  at: number;
  message_token: string;
  link_index: number;
  url: string;
  ip: string | null;
  user_agent: string | null;
  method: string;
  purpose: string | null;
  machine: boolean;
  machine_reason: string | null;
}

/** A click of this batch or a stored one, with what its classification needs. */
interface ClickCandidate {
  id: string;
  at: number;
  token: string;
  server: string;
  linkIndex: number;
  url: string;
  ip: string | null;
  userAgent: string | null;
  method: string;
  purpose: string | null;
  /** Stored ones: whether it counts as a machine's now, and why. */
  storedMachine?: boolean;
  storedReason?: string | null;
  result?: Classification;
}

/**
 * Times cross the wire as epoch milliseconds (float8) rather than timestamptz text: a batch
 * reads and writes thousands of them, and parsing and formatting dates was a visible share
 * of the aggregator's CPU. Millisecond values are exact in a float8.
 */
const epochMs = (column: string) => sql`(extract(epoch from ${sql.ref(column)}) * 1000)::float8 as ${sql.ref(column)}`;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
/** Postgres text cannot hold NUL; every text field of an event (URLs too) goes through here, anything else is kept as it came. */
const text = (value: string | null | undefined): string | null => (value == null ? null : value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value);

function stateOf(row: MessageRow): MessageState {
  return {
    token: row.token,
    server: row.server,
    known: row.platform_message_id !== null,
    platformMessageId: row.platform_message_id,
    recipient: row.recipient,
    tag: row.tag,
    trackingDomain: row.tracking_domain,
    linkCount: row.link_count,
    pixel: row.pixel,
    sentAt: row.sent_at,
    opens: row.opens,
    humanOpens: row.human_opens,
    clicks: row.clicks,
    humanClicks: row.human_clicks,
    firstOpenedAt: row.first_opened_at,
    lastOpenedAt: row.last_opened_at,
    firstHumanOpenedAt: row.first_human_opened_at,
    firstClickedAt: row.first_clicked_at,
    lastClickedAt: row.last_clicked_at,
    firstHumanClickedAt: row.first_human_clicked_at,
  };
}

function arrivalOf(event: TrackedMessageEvent): MessageArrival {
  return {
    token: event.messageToken,
    server: event.server,
    platformMessageId: text(event.platformMessageId)!,
    recipient: text(event.recipient),
    tag: text(event.tag),
    trackingDomain: event.trackingDomain,
    linkCount: event.links.length,
    pixel: event.pixel,
    sentAt: Date.parse(event.at),
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class StatsWriter {
  private readonly earlyClickMs: number;
  private readonly burstWindowMs: number;
  private readonly burstMinLinks: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly partitions: EventPartitions,
    settings: ClassificationSettings = {},
  ) {
    this.earlyClickMs = settings.earlyClickMs ?? DEFAULT_EARLY_CLICK_MS;
    this.burstWindowMs = settings.burstWindowMs ?? DEFAULT_BURST_WINDOW_MS;
    this.burstMinLinks = settings.burstMinLinks ?? DEFAULT_BURST_MIN_LINKS;
  }

  /**
   * Stores and counts a batch in one transaction. Safe to call again with the same events
   * (only events stored for the first time change a counter), and from several processes at
   * once (the batch's messages are locked first, in one order).
   */
  async write(batch: readonly TrackingEvent[]): Promise<WriteSummary> {
    const events = [...new Map(batch.map((event) => [event.id.toLowerCase(), event])).values()];
    if (events.length === 0) return { events: 0, stored: 0, duplicates: 0, reclassified: 0, byType: emptyByType() };
    // Partitions are created outside the transaction: creating one locks the parent table.
    await this.partitions.ensure(events.filter((event) => event.type !== 'message').map((event) => Date.parse(event.at)));
    return this.db.transaction().execute((trx) => this.writeIn(trx, events));
  }

  private async writeIn(trx: Transaction<Database>, events: readonly TrackingEvent[]): Promise<WriteSummary> {
    const messageEvents: TrackedMessageEvent[] = [];
    const opens: OpenEvent[] = [];
    const clicks: ClickEvent[] = [];
    for (const event of events) {
      if (event.type === 'message') messageEvents.push(event);
      else if (event.type === 'open') opens.push(event);
      else clicks.push(event);
    }

    const states = await this.lockMessages(trx, events);
    const arrivals = new Map<string, MessageArrival>();
    let duplicates = 0;
    for (const event of messageEvents) {
      if (states.get(event.messageToken)!.known || arrivals.has(event.messageToken)) duplicates++;
      else arrivals.set(event.messageToken, arrivalOf(event));
    }

    // Messages arriving after some of their events: those events are read back to be
    // attributed (hourly_stats) and, for clicks, judged again now that the send time is known.
    const backlogTokens = [...arrivals.keys()].filter((token) => states.get(token)!.opens + states.get(token)!.clicks > 0);
    const backlogOpens = await this.readBacklogOpens(trx, backlogTokens);

    const judged = await this.judgeClicks(trx, clicks, states, arrivals, backlogTokens);
    const newOpenFacts = await this.insertOpens(trx, opens);
    const newClickFacts = await this.insertClicks(trx, judged.fresh);
    const reclassified = judged.stored.filter((click) => click.storedMachine === false && click.result!.machine);
    await this.markReclassified(trx, reclassified);
    duplicates += opens.length - newOpenFacts.length + clicks.length - newClickFacts.length;

    const recomputedFirstHumanClick = await this.firstHumanClicks(
      trx,
      reclassified.filter((click) => states.get(click.token)!.firstHumanClickedAt === click.at).map((click) => click.token),
    );

    const backlogTokenSet = new Set(backlogTokens);
    const deltas = computeBatchDeltas({
      states,
      arrivals,
      newOpens: newOpenFacts,
      newClicks: newClickFacts,
      reclassified: reclassified.map(clickFact),
      backlogOpens,
      backlogClicks: judged.stored.filter((click) => backlogTokenSet.has(click.token)).map(clickFact),
      recomputedFirstHumanClick,
    });

    const touched = new Set([...arrivals.keys(), ...newOpenFacts.map((o) => o.token), ...newClickFacts.map((c) => c.token), ...reclassified.map((c) => c.token)]);
    await this.updateMessages(
      trx,
      deltas.messages.filter((message) => touched.has(message.token)),
    );
    await this.upsertLinkStats(trx, deltas.links);
    await this.upsertHourlyStats(trx, deltas.hourly);
    await this.upsertLinkDailyStats(trx, deltas.linkDays);
    await this.upsertMachineDailyStats(trx, deltas.machineDays);

    const byType: WriteSummary['byType'] = {
      message: { events: messageEvents.length, stored: arrivals.size, duplicates: messageEvents.length - arrivals.size, storedAt: [...arrivals.values()].map((arrival) => arrival.sentAt) },
      open: { events: opens.length, stored: newOpenFacts.length, duplicates: opens.length - newOpenFacts.length, storedAt: newOpenFacts.map((open) => open.at) },
      click: { events: clicks.length, stored: newClickFacts.length, duplicates: clicks.length - newClickFacts.length, storedAt: newClickFacts.map((click) => click.at) },
    };
    return { events: events.length, stored: arrivals.size + newOpenFacts.length + newClickFacts.length, duplicates, reclassified: reclassified.length, byType };
  }

  /**
   * Creates a placeholder row for messages not seen yet and locks every message of the batch,
   * in token order: a second aggregator touching the same messages waits for this batch, so
   * burst detection and the counters never see half of another batch.
   */
  private async lockMessages(trx: Transaction<Database>, events: readonly TrackingEvent[]): Promise<Map<string, MessageState>> {
    const servers = new Map<string, string>();
    for (const event of events) {
      // The message event's server wins; hits carry the same one (it is signed into their URL).
      if (event.type === 'message' || !servers.has(event.messageToken)) servers.set(event.messageToken, event.server);
    }
    const tokens = [...servers.keys()].sort();
    const rows = await sql<MessageRow>`
      insert into messages (token, server)
      select * from unnest(${tokens}::text[], ${tokens.map((token) => servers.get(token)!)}::text[])
      on conflict (token) do update set token = excluded.token
      returning token, server, platform_message_id, recipient, tag, tracking_domain, link_count, pixel,
        opens, human_opens, clicks, human_clicks, ${epochMs('sent_at')}, ${epochMs('first_opened_at')},
        ${epochMs('last_opened_at')}, ${epochMs('first_human_opened_at')}, ${epochMs('first_clicked_at')},
        ${epochMs('last_clicked_at')}, ${epochMs('first_human_clicked_at')}`.execute(trx);
    return new Map(rows.rows.map((row) => [row.token, stateOf(row)]));
  }

  private async readBacklogOpens(trx: Transaction<Database>, tokens: readonly string[]): Promise<OpenFact[]> {
    if (tokens.length === 0) return [];
    const rows = await sql<{ message_token: string; at: Date; machine: boolean; machine_reason: string | null }>`
      select message_token, at, machine, machine_reason from opens where message_token = any(${tokens}::text[])`.execute(trx);
    return rows.rows.map((row) => ({ token: row.message_token, at: row.at.getTime(), machine: row.machine, machineReason: row.machine_reason }));
  }

  /**
   * Classifies the batch's clicks with everything known about their message: the request
   * itself, the send time, and the message's other clicks around them (bursts). Stored clicks
   * near the new ones, and all stored clicks of a message arriving now, are judged again.
   */
  private async judgeClicks(
    trx: Transaction<Database>,
    clicks: readonly ClickEvent[],
    states: ReadonlyMap<string, MessageState>,
    arrivals: ReadonlyMap<string, MessageArrival>,
    backlogTokens: readonly string[],
  ): Promise<{ fresh: ClickCandidate[]; stored: ClickCandidate[] }> {
    const stored = new Map<string, ClickCandidate>();
    const keep = (row: StoredClick) =>
      stored.set(row.id, {
        id: row.id, at: row.at, token: row.message_token, server: '', linkIndex: row.link_index, url: row.url,
        ip: row.ip, userAgent: row.user_agent, method: row.method, purpose: row.purpose, storedMachine: row.machine,
        storedReason: row.machine_reason,
      });

    if (clicks.length > 0) {
      // A burst around a new click can reach stored clicks up to two windows away.
      const reach = 2 * this.burstWindowMs;
      const times = clicks.map((click) => Date.parse(click.at));
      const tokens = [...new Set(clicks.map((click) => click.messageToken))];
      const near = await sql<StoredClick>`
        select id, ${epochMs('at')}, message_token, link_index, url, ip, user_agent, method, purpose, machine, machine_reason from clicks
        where message_token = any(${tokens}::text[]) and at between ${iso(Math.min(...times) - reach)}::timestamptz and ${iso(Math.max(...times) + reach)}::timestamptz`.execute(trx);
      near.rows.forEach(keep);
    }
    if (backlogTokens.length > 0) {
      const backlog = await sql<StoredClick>`
        select id, ${epochMs('at')}, message_token, link_index, url, ip, user_agent, method, purpose, machine, machine_reason from clicks
        where message_token = any(${backlogTokens}::text[])`.execute(trx);
      backlog.rows.forEach(keep);
    }

    const fresh: ClickCandidate[] = [];
    for (const click of clicks) {
      if (stored.has(click.id.toLowerCase())) continue; // stored by an earlier batch: a redelivery
      fresh.push({
        id: click.id.toLowerCase(), at: Date.parse(click.at), token: click.messageToken, server: click.server, linkIndex: click.linkIndex,
        url: text(click.url)!, ip: text(click.ip), userAgent: text(click.userAgent), method: click.method, purpose: text(click.purpose),
      });
    }

    const byToken = new Map<string, ClickCandidate[]>();
    for (const click of [...stored.values(), ...fresh]) push(byToken, click.token, click);
    for (const [token, group] of byToken) {
      const sentAt = arrivals.get(token)?.sentAt ?? states.get(token)?.sentAt ?? null;
      const bursts = findClickBursts(
        group.map((click) => ({ id: click.id, ip: click.ip, linkIndex: click.linkIndex, atMs: click.at })),
        { windowMs: this.burstWindowMs, minDistinctLinks: this.burstMinLinks },
      );
      for (const click of group) {
        const request = classifyHit({ type: 'click', method: click.method, userAgent: click.userAgent, purpose: click.purpose });
        click.result = classifyClick(request, clickTimingReason(click.at, sentAt, this.earlyClickMs), bursts.has(click.id));
        // A stored machine click stays one: evidence only ever adds up.
        if (click.storedMachine) click.result = { ...click.result, machine: true };
      }
    }
    return { fresh, stored: [...stored.values()] };
  }

  private async insertOpens(trx: Transaction<Database>, opens: readonly OpenEvent[]): Promise<OpenFact[]> {
    if (opens.length === 0) return [];
    const results = opens.map((open) => classifyHit({ type: 'open', method: open.method, userAgent: open.userAgent, purpose: open.purpose }));
    const inserted = await sql<{ id: string }>`
      insert into opens (id, at, message_token, server, ip, user_agent, method, purpose, proxy, machine, machine_reason)
      select * from unnest(
        ${opens.map((o) => o.id)}::uuid[], ${opens.map((o) => o.at)}::timestamptz[], ${opens.map((o) => o.messageToken)}::text[],
        ${opens.map((o) => o.server)}::text[], ${opens.map((o) => text(o.ip))}::text[], ${opens.map((o) => text(o.userAgent))}::text[],
        ${opens.map((o) => o.method)}::text[], ${opens.map((o) => text(o.purpose))}::text[], ${results.map((r) => r.proxy)}::text[],
        ${results.map((r) => r.machine)}::boolean[], ${results.map((r) => r.reason)}::text[])
      on conflict do nothing
      returning id`.execute(trx);
    const fresh = new Set(inserted.rows.map((row) => row.id));
    const facts: OpenFact[] = [];
    opens.forEach((open, i) => {
      if (fresh.has(open.id.toLowerCase())) facts.push({ token: open.messageToken, at: Date.parse(open.at), machine: results[i].machine, machineReason: results[i].reason });
    });
    return facts;
  }

  private async insertClicks(trx: Transaction<Database>, clicks: readonly ClickCandidate[]): Promise<ClickFact[]> {
    if (clicks.length === 0) return [];
    const inserted = await sql<{ id: string }>`
      insert into clicks (id, at, message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason)
      select id, to_timestamp(at / 1000), message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason
      from unnest(
        ${clicks.map((c) => c.id)}::uuid[], ${clicks.map((c) => c.at)}::float8[], ${clicks.map((c) => c.token)}::text[],
        ${clicks.map((c) => c.server)}::text[], ${clicks.map((c) => c.linkIndex)}::integer[], ${clicks.map((c) => c.url)}::text[],
        ${clicks.map((c) => c.ip)}::text[], ${clicks.map((c) => c.userAgent)}::text[], ${clicks.map((c) => c.method)}::text[],
        ${clicks.map((c) => c.purpose)}::text[], ${clicks.map((c) => c.result!.machine)}::boolean[], ${clicks.map((c) => c.result!.reason)}::text[])
        as v(id, at, message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason)
      on conflict do nothing
      returning id`.execute(trx);
    const fresh = new Set(inserted.rows.map((row) => row.id));
    return clicks.filter((click) => fresh.has(click.id)).map(clickFact);
  }

  private async markReclassified(trx: Transaction<Database>, clicks: readonly ClickCandidate[]): Promise<void> {
    if (clicks.length === 0) return;
    await sql`
      update clicks set machine = true, machine_reason = v.reason
      from unnest(${clicks.map((c) => c.id)}::uuid[], ${clicks.map((c) => c.at)}::float8[], ${clicks.map((c) => c.result!.reason)}::text[]) as v(id, at, reason)
      where clicks.id = v.id and clicks.at = to_timestamp(v.at / 1000)`.execute(trx);
  }

  /** The first human click of each message, read after this batch's changes. */
  private async firstHumanClicks(trx: Transaction<Database>, tokens: readonly string[]): Promise<Map<string, number | null>> {
    const result = new Map<string, number | null>();
    if (tokens.length === 0) return result;
    for (const token of tokens) result.set(token, null);
    const rows = await sql<{ message_token: string; first: Date }>`
      select message_token, min(at) as first from clicks
      where message_token = any(${[...new Set(tokens)]}::text[]) and not machine group by message_token`.execute(trx);
    for (const row of rows.rows) result.set(row.message_token, row.first.getTime());
    return result;
  }

  private async updateMessages(trx: Transaction<Database>, messages: readonly MessageState[]): Promise<void> {
    if (messages.length === 0) return;
    const column = <T>(pick: (m: MessageState) => T) => messages.map(pick);
    await sql`
      update messages set
        server = v.server, platform_message_id = v.platform_message_id, recipient = v.recipient, tag = v.tag,
        tracking_domain = v.tracking_domain, link_count = v.link_count, pixel = v.pixel, sent_at = to_timestamp(v.sent_at / 1000),
        opens = v.opens, human_opens = v.human_opens, clicks = v.clicks, human_clicks = v.human_clicks,
        first_opened_at = to_timestamp(v.first_opened_at / 1000), last_opened_at = to_timestamp(v.last_opened_at / 1000),
        first_human_opened_at = to_timestamp(v.first_human_opened_at / 1000), first_clicked_at = to_timestamp(v.first_clicked_at / 1000),
        last_clicked_at = to_timestamp(v.last_clicked_at / 1000), first_human_clicked_at = to_timestamp(v.first_human_clicked_at / 1000),
        updated_at = now()
      from unnest(
        ${column((m) => m.token)}::text[], ${column((m) => m.server)}::text[], ${column((m) => m.platformMessageId)}::text[],
        ${column((m) => m.recipient)}::text[], ${column((m) => m.tag)}::text[], ${column((m) => m.trackingDomain)}::text[],
        ${column((m) => m.linkCount)}::integer[], ${column((m) => m.pixel)}::boolean[], ${column((m) => m.sentAt)}::float8[],
        ${column((m) => m.opens)}::integer[], ${column((m) => m.humanOpens)}::integer[], ${column((m) => m.clicks)}::integer[],
        ${column((m) => m.humanClicks)}::integer[], ${column((m) => m.firstOpenedAt)}::float8[],
        ${column((m) => m.lastOpenedAt)}::float8[], ${column((m) => m.firstHumanOpenedAt)}::float8[],
        ${column((m) => m.firstClickedAt)}::float8[], ${column((m) => m.lastClickedAt)}::float8[],
        ${column((m) => m.firstHumanClickedAt)}::float8[]
      ) as v(token, server, platform_message_id, recipient, tag, tracking_domain, link_count, pixel, sent_at, opens, human_opens,
             clicks, human_clicks, first_opened_at, last_opened_at, first_human_opened_at, first_clicked_at, last_clicked_at,
             first_human_clicked_at)
      where messages.token = v.token`.execute(trx);
  }

  private async upsertLinkStats(trx: Transaction<Database>, links: ReturnType<typeof computeBatchDeltas>['links']): Promise<void> {
    if (links.length === 0) return;
    await sql`
      insert into link_stats (message_token, link_index, url, clicks, human_clicks, first_clicked_at, last_clicked_at)
      select * from unnest(
        ${links.map((l) => l.token)}::text[], ${links.map((l) => l.linkIndex)}::integer[], ${links.map((l) => l.url)}::text[],
        ${links.map((l) => l.clicks)}::integer[], ${links.map((l) => l.humanClicks)}::integer[],
        ${links.map((l) => iso(l.firstClickedAt))}::timestamptz[], ${links.map((l) => iso(l.lastClickedAt))}::timestamptz[])
      on conflict (message_token, link_index) do update set
        clicks = link_stats.clicks + excluded.clicks,
        human_clicks = link_stats.human_clicks + excluded.human_clicks,
        first_clicked_at = least(link_stats.first_clicked_at, excluded.first_clicked_at),
        last_clicked_at = greatest(link_stats.last_clicked_at, excluded.last_clicked_at)`.execute(trx);
  }

  private async upsertHourlyStats(trx: Transaction<Database>, rows: ReturnType<typeof computeBatchDeltas>['hourly']): Promise<void> {
    if (rows.length === 0) return;
    const column = (pick: (row: (typeof rows)[number]) => number) => rows.map(pick);
    await sql`
      insert into hourly_stats (server, tracking_domain, tag, hour, messages, opens, unique_opens, clicks, unique_clicks,
                                human_opens, human_unique_opens, human_clicks, human_unique_clicks)
      select * from unnest(
        ${rows.map((r) => r.server)}::text[], ${rows.map((r) => r.trackingDomain)}::text[], ${rows.map((r) => r.tag)}::text[],
        ${rows.map((r) => iso(r.hour))}::timestamptz[], ${column((r) => r.messages)}::bigint[], ${column((r) => r.opens)}::bigint[],
        ${column((r) => r.uniqueOpens)}::bigint[], ${column((r) => r.clicks)}::bigint[], ${column((r) => r.uniqueClicks)}::bigint[],
        ${column((r) => r.humanOpens)}::bigint[], ${column((r) => r.humanUniqueOpens)}::bigint[], ${column((r) => r.humanClicks)}::bigint[],
        ${column((r) => r.humanUniqueClicks)}::bigint[])
      on conflict (server, tracking_domain, tag, hour) do update set
        messages = hourly_stats.messages + excluded.messages,
        opens = hourly_stats.opens + excluded.opens,
        unique_opens = hourly_stats.unique_opens + excluded.unique_opens,
        clicks = hourly_stats.clicks + excluded.clicks,
        unique_clicks = hourly_stats.unique_clicks + excluded.unique_clicks,
        human_opens = hourly_stats.human_opens + excluded.human_opens,
        human_unique_opens = hourly_stats.human_unique_opens + excluded.human_unique_opens,
        human_clicks = hourly_stats.human_clicks + excluded.human_clicks,
        human_unique_clicks = hourly_stats.human_unique_clicks + excluded.human_unique_clicks`.execute(trx);
  }

  /** Keyed by the URL's md5 (as a uuid): a URL may be 8,000 characters, too long for a btree key. */
  private async upsertLinkDailyStats(trx: Transaction<Database>, rows: ReturnType<typeof computeBatchDeltas>['linkDays']): Promise<void> {
    if (rows.length === 0) return;
    await sql`
      insert into link_daily_stats (server, tracking_domain, tag, day, url_md5, url, clicks, human_clicks)
      select server, tracking_domain, tag, day, md5(url)::uuid, url, clicks, human_clicks
      from unnest(
        ${rows.map((r) => r.server)}::text[], ${rows.map((r) => r.trackingDomain)}::text[], ${rows.map((r) => r.tag)}::text[],
        ${rows.map((r) => iso(r.day))}::timestamptz[], ${rows.map((r) => r.url)}::text[],
        ${rows.map((r) => r.clicks)}::bigint[], ${rows.map((r) => r.humanClicks)}::bigint[])
        as v(server, tracking_domain, tag, day, url, clicks, human_clicks)
      on conflict (server, tracking_domain, tag, day, url_md5) do update set
        clicks = link_daily_stats.clicks + excluded.clicks,
        human_clicks = link_daily_stats.human_clicks + excluded.human_clicks`.execute(trx);
  }

  private async upsertMachineDailyStats(trx: Transaction<Database>, rows: ReturnType<typeof computeBatchDeltas>['machineDays']): Promise<void> {
    if (rows.length === 0) return;
    await sql`
      insert into machine_daily_stats (server, tracking_domain, tag, day, kind, reason, hits)
      select * from unnest(
        ${rows.map((r) => r.server)}::text[], ${rows.map((r) => r.trackingDomain)}::text[], ${rows.map((r) => r.tag)}::text[],
        ${rows.map((r) => iso(r.day))}::timestamptz[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.reason)}::text[],
        ${rows.map((r) => r.hits)}::bigint[])
      on conflict (server, tracking_domain, tag, day, kind, reason) do update set
        hits = machine_daily_stats.hits + excluded.hits`.execute(trx);
  }
}

function clickFact(click: ClickCandidate): ClickFact {
  // A stored machine click keeps the reason it is stored with (markReclassified only touches people's).
  const machineReason = click.storedMachine ? click.storedReason : click.result!.reason;
  return { token: click.token, at: click.at, linkIndex: click.linkIndex, url: click.url, machine: click.result!.machine, machineReason };
}

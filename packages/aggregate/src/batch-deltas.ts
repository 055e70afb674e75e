/*
 * What one batch changes in the aggregated tables, computed from facts the stats writer read
 * under lock. Pure: the writer does the I/O, this decides the numbers.
 *
 * Counting rules (the README's "How counting works"):
 * - Only events stored for the first time count (the writer passes nothing else).
 * - `messages` and `link_stats` count every event at once, known message or not.
 * - `hourly_stats` needs the message's tracking domain and tag, so a message's events are
 *   attributed there once its message event has arrived: all at once on arrival, then as they come.
 * - A unique open/click counts in the hour of the message's first one; when an earlier one
 *   arrives late (or the first human click turns out to be a scanner's) the unique moves hours.
 * - Stored clicks are only ever reclassified from human to machine (more evidence never clears a
 *   burst or a timing reason), so their human counts only go down.
 * - The rollups `link_daily_stats` (clicks per URL and UTC day) and `machine_daily_stats`
 *   (machine hits per reason and UTC day) are attributed exactly like `hourly_stats`: by the
 *   message's tracking domain and tag, from its arrival on; a reclassified click takes one
 *   off its link's human clicks and adds one under its new reason.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface MessageState {
  token: string;
  server: string;
  /** The message event had arrived before this batch. */
  known: boolean;
  platformMessageId: string | null;
  recipient: string | null;
  tag: string | null;
  trackingDomain: string | null;
  linkCount: number | null;
  pixel: boolean | null;
  sentAt: number | null;
  opens: number;
  humanOpens: number;
  clicks: number;
  humanClicks: number;
  firstOpenedAt: number | null;
  lastOpenedAt: number | null;
  firstHumanOpenedAt: number | null;
  firstClickedAt: number | null;
  lastClickedAt: number | null;
  firstHumanClickedAt: number | null;
}

/** A message event seen for the first time. */
export interface MessageArrival {
  token: string;
  server: string;
  platformMessageId: string;
  recipient: string | null;
  tag: string | null;
  trackingDomain: string;
  linkCount: number;
  pixel: boolean;
  sentAt: number;
}

export interface OpenFact {
  token: string;
  at: number;
  machine: boolean;
  /** Why a machine's (`machine_reason`); counted as `unknown` when a machine's has none. */
  machineReason?: string | null;
}

export interface ClickFact {
  token: string;
  at: number;
  linkIndex: number;
  url: string;
  machine: boolean;
  machineReason?: string | null;
}

export interface BatchFacts {
  /** Every message the batch touches, as it was before the batch. */
  states: ReadonlyMap<string, MessageState>;
  arrivals: ReadonlyMap<string, MessageArrival>;
  newOpens: readonly OpenFact[];
  newClicks: readonly ClickFact[];
  /** Stored clicks counted as human until now that are machine from now on. */
  reclassified: readonly ClickFact[];
  /** Stored events of messages arriving in this batch, with their classification after it. */
  backlogOpens: readonly OpenFact[];
  backlogClicks: readonly ClickFact[];
  /** First human click after the batch, re-read where the previous first one was reclassified. */
  recomputedFirstHumanClick: ReadonlyMap<string, number | null>;
}

export interface LinkDelta {
  token: string;
  linkIndex: number;
  url: string;
  clicks: number;
  humanClicks: number;
  firstClickedAt: number | null;
  lastClickedAt: number | null;
}

export interface HourlyDelta {
  server: string;
  trackingDomain: string;
  tag: string;
  hour: number;
  messages: number;
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  humanOpens: number;
  humanUniqueOpens: number;
  humanClicks: number;
  humanUniqueClicks: number;
}

/** Clicks on one URL, across messages, per server, tracking domain, tag and UTC day. */
export interface LinkDayDelta {
  server: string;
  trackingDomain: string;
  tag: string;
  day: number;
  url: string;
  clicks: number;
  humanClicks: number;
}

/** Machine opens or clicks for one reason, per server, tracking domain, tag and UTC day. */
export interface MachineDayDelta {
  server: string;
  trackingDomain: string;
  tag: string;
  day: number;
  kind: 'open' | 'click';
  reason: string;
  hits: number;
}

export interface BatchDeltas {
  /** The new state of every touched message (`known` true once its message event arrived). */
  messages: MessageState[];
  /** Sorted by key, so concurrent writers lock rows in one order. */
  links: LinkDelta[];
  hourly: HourlyDelta[];
  linkDays: LinkDayDelta[];
  machineDays: MachineDayDelta[];
}

/** A reason-less machine hit (none is expected) still counts, under this name. */
export const UNKNOWN_MACHINE_REASON = 'unknown';

type HourlyCounter = Exclude<keyof HourlyDelta, 'server' | 'trackingDomain' | 'tag' | 'hour'>;

const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
const hourOf = (at: number) => Math.floor(at / HOUR_MS) * HOUR_MS;
const dayOf = (at: number) => Math.floor(at / DAY_MS) * DAY_MS;

function groupByToken<T extends { token: string }>(facts: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const fact of facts) {
    const group = groups.get(fact.token);
    if (group) group.push(fact);
    else groups.set(fact.token, [fact]);
  }
  return groups;
}

class HourlyTally {
  private readonly rows = new Map<string, HourlyDelta>();

  add(message: MessageState, at: number, counter: HourlyCounter, amount: number): void {
    const tag = message.tag ?? '';
    const trackingDomain = message.trackingDomain ?? '';
    const hour = hourOf(at);
    const key = JSON.stringify([message.server, trackingDomain, tag, hour]);
    let row = this.rows.get(key);
    if (!row) {
      row = {
        server: message.server, trackingDomain, tag, hour,
        messages: 0, opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0,
        humanOpens: 0, humanUniqueOpens: 0, humanClicks: 0, humanUniqueClicks: 0,
      };
      this.rows.set(key, row);
    }
    row[counter] += amount;
  }

  /** A unique counted in the hour of `before` moves to the hour of `after`. */
  moveUnique(message: MessageState, before: number | null, after: number | null, counter: HourlyCounter): void {
    if (before === after) return;
    if (before !== null) this.add(message, before, counter, -1);
    if (after !== null) this.add(message, after, counter, 1);
  }

  sorted(): HourlyDelta[] {
    const nonZero = [...this.rows.values()].filter((row) =>
      row.messages || row.opens || row.uniqueOpens || row.clicks || row.uniqueClicks || row.humanOpens || row.humanUniqueOpens || row.humanClicks || row.humanUniqueClicks,
    );
    return nonZero.sort((a, b) => compareKeys([a.server, a.trackingDomain, a.tag, a.hour], [b.server, b.trackingDomain, b.tag, b.hour]));
  }
}

/** Rows summed by key, zero rows dropped, sorted by key (the lock order). */
class RowTally<Row> {
  private readonly rows = new Map<string, { key: (string | number)[]; row: Row }>();

  constructor(
    private readonly create: (key: (string | number)[]) => Row,
    private readonly isZero: (row: Row) => boolean,
  ) {}

  at(key: (string | number)[]): Row {
    const id = JSON.stringify(key);
    let entry = this.rows.get(id);
    if (!entry) {
      entry = { key, row: this.create(key) };
      this.rows.set(id, entry);
    }
    return entry.row;
  }

  sorted(): Row[] {
    return [...this.rows.values()].filter((entry) => !this.isZero(entry.row)).sort((a, b) => compareKeys(a.key, b.key)).map((entry) => entry.row);
  }
}

/** The attributed key of a message's rows: server, tracking domain, tag ('' when none). */
const attribution = (message: MessageState): [string, string, string] => [message.server, message.trackingDomain ?? '', message.tag ?? ''];

class LinkDayTally {
  private readonly tally = new RowTally<LinkDayDelta>(
    ([server, trackingDomain, tag, day, url]) => ({ server: server as string, trackingDomain: trackingDomain as string, tag: tag as string, day: day as number, url: url as string, clicks: 0, humanClicks: 0 }),
    (row) => row.clicks === 0 && row.humanClicks === 0,
  );

  addClicks(message: MessageState, clicks: readonly ClickFact[]): void {
    for (const click of clicks) {
      const row = this.tally.at([...attribution(message), dayOf(click.at), click.url]);
      row.clicks += 1;
      if (!click.machine) row.humanClicks += 1;
    }
  }

  demote(message: MessageState, clicks: readonly ClickFact[]): void {
    for (const click of clicks) this.tally.at([...attribution(message), dayOf(click.at), click.url]).humanClicks -= 1;
  }

  sorted(): LinkDayDelta[] {
    return this.tally.sorted();
  }
}

class MachineDayTally {
  private readonly tally = new RowTally<MachineDayDelta>(
    ([server, trackingDomain, tag, day, kind, reason]) => ({
      server: server as string, trackingDomain: trackingDomain as string, tag: tag as string, day: day as number,
      kind: kind as MachineDayDelta['kind'], reason: reason as string, hits: 0,
    }),
    (row) => row.hits === 0,
  );

  /** Counts the machines' hits among these (a reclassified click is one now: it arrives with machine true). */
  add(message: MessageState, kind: MachineDayDelta['kind'], hits: readonly (OpenFact | ClickFact)[]): void {
    for (const hit of hits) {
      if (!hit.machine) continue;
      this.tally.at([...attribution(message), dayOf(hit.at), kind, hit.machineReason ?? UNKNOWN_MACHINE_REASON]).hits += 1;
    }
  }

  sorted(): MachineDayDelta[] {
    return this.tally.sorted();
  }
}

function compareKeys(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

function countOpens(tally: HourlyTally, message: MessageState, opens: readonly OpenFact[]): void {
  for (const open of opens) {
    tally.add(message, open.at, 'opens', 1);
    if (!open.machine) tally.add(message, open.at, 'humanOpens', 1);
  }
}

function countClicks(tally: HourlyTally, message: MessageState, clicks: readonly ClickFact[]): void {
  for (const click of clicks) {
    tally.add(message, click.at, 'clicks', 1);
    if (!click.machine) tally.add(message, click.at, 'humanClicks', 1);
  }
}

export function computeBatchDeltas(facts: BatchFacts): BatchDeltas {
  const newOpens = groupByToken(facts.newOpens);
  const newClicks = groupByToken(facts.newClicks);
  const reclassified = groupByToken(facts.reclassified);
  const backlogOpens = groupByToken(facts.backlogOpens);
  const backlogClicks = groupByToken(facts.backlogClicks);
  const tally = new HourlyTally();
  const linkDays = new LinkDayTally();
  const machineDays = new MachineDayTally();
  const messages: MessageState[] = [];

  for (const before of facts.states.values()) {
    const token = before.token;
    const arrival = facts.arrivals.get(token);
    const opens = newOpens.get(token) ?? [];
    const clicks = newClicks.get(token) ?? [];
    const demoted = reclassified.get(token) ?? [];
    const after: MessageState = { ...before };

    if (arrival) {
      Object.assign(after, {
        known: true,
        server: arrival.server,
        platformMessageId: arrival.platformMessageId,
        recipient: arrival.recipient,
        tag: arrival.tag,
        trackingDomain: arrival.trackingDomain,
        linkCount: arrival.linkCount,
        pixel: arrival.pixel,
        sentAt: arrival.sentAt,
      });
    }

    for (const open of opens) {
      after.opens += 1;
      after.firstOpenedAt = min(after.firstOpenedAt, open.at);
      after.lastOpenedAt = max(after.lastOpenedAt, open.at);
      if (!open.machine) {
        after.humanOpens += 1;
        after.firstHumanOpenedAt = min(after.firstHumanOpenedAt, open.at);
      }
    }
    for (const click of clicks) {
      after.clicks += 1;
      after.firstClickedAt = min(after.firstClickedAt, click.at);
      after.lastClickedAt = max(after.lastClickedAt, click.at);
      if (!click.machine) after.humanClicks += 1;
    }
    after.humanClicks -= demoted.length;
    if (facts.recomputedFirstHumanClick.has(token)) {
      // Re-read after this batch's clicks were stored: already the final answer.
      after.firstHumanClickedAt = facts.recomputedFirstHumanClick.get(token) ?? null;
    } else {
      for (const click of clicks) if (!click.machine) after.firstHumanClickedAt = min(after.firstHumanClickedAt, click.at);
    }
    messages.push(after);

    if (arrival) {
      // Everything about this message enters hourly_stats now, the backlog included.
      tally.add(after, arrival.sentAt, 'messages', 1);
      countOpens(tally, after, backlogOpens.get(token) ?? []);
      countOpens(tally, after, opens);
      countClicks(tally, after, backlogClicks.get(token) ?? []);
      countClicks(tally, after, clicks);
      tally.moveUnique(after, null, after.firstOpenedAt, 'uniqueOpens');
      tally.moveUnique(after, null, after.firstHumanOpenedAt, 'humanUniqueOpens');
      tally.moveUnique(after, null, after.firstClickedAt, 'uniqueClicks');
      tally.moveUnique(after, null, after.firstHumanClickedAt, 'humanUniqueClicks');
      const allOpens = [...(backlogOpens.get(token) ?? []), ...opens];
      const allClicks = [...(backlogClicks.get(token) ?? []), ...clicks];
      linkDays.addClicks(after, allClicks);
      machineDays.add(after, 'open', allOpens);
      machineDays.add(after, 'click', allClicks);
    } else if (before.known) {
      countOpens(tally, after, opens);
      countClicks(tally, after, clicks);
      for (const click of demoted) tally.add(after, click.at, 'humanClicks', -1);
      tally.moveUnique(after, before.firstOpenedAt, after.firstOpenedAt, 'uniqueOpens');
      tally.moveUnique(after, before.firstHumanOpenedAt, after.firstHumanOpenedAt, 'humanUniqueOpens');
      tally.moveUnique(after, before.firstClickedAt, after.firstClickedAt, 'uniqueClicks');
      tally.moveUnique(after, before.firstHumanClickedAt, after.firstHumanClickedAt, 'humanUniqueClicks');
      linkDays.addClicks(after, clicks);
      linkDays.demote(after, demoted);
      machineDays.add(after, 'open', opens);
      machineDays.add(after, 'click', [...clicks, ...demoted]);
    }
  }

  return {
    messages,
    links: linkDeltas(facts.newClicks, facts.reclassified),
    hourly: tally.sorted(),
    linkDays: linkDays.sorted(),
    machineDays: machineDays.sorted(),
  };
}

function linkDeltas(newClicks: readonly ClickFact[], reclassified: readonly ClickFact[]): LinkDelta[] {
  const links = new Map<string, LinkDelta>();
  const entry = (click: ClickFact): LinkDelta => {
    const key = JSON.stringify([click.token, click.linkIndex]);
    let link = links.get(key);
    if (!link) {
      link = { token: click.token, linkIndex: click.linkIndex, url: click.url, clicks: 0, humanClicks: 0, firstClickedAt: null, lastClickedAt: null };
      links.set(key, link);
    }
    return link;
  };
  for (const click of newClicks) {
    const link = entry(click);
    link.clicks += 1;
    if (!click.machine) link.humanClicks += 1;
    link.firstClickedAt = min(link.firstClickedAt, click.at);
    link.lastClickedAt = max(link.lastClickedAt, click.at);
  }
  for (const click of reclassified) entry(click).humanClicks -= 1;
  return [...links.values()].sort((a, b) => compareKeys([a.token, a.linkIndex], [b.token, b.linkIndex]));
}

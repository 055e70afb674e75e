import { randomInt } from 'node:crypto';
import type { TrackingEvent } from '@mailbeacon/contracts';
import { EventPartitions } from '@mailbeacon/db';
import {
  BROWSER_AGENT,
  clickEventFixture,
  fixtureToken,
  messageEventFixture,
  openEventFixture,
  temporaryDatabase,
  type HitFixture,
  type TemporaryDatabase,
} from '@mailbeacon/testing';
import { sql } from 'kysely';
import { isTransientDatabaseError } from '../src/postgres-errors';
import { StatsWriter } from '../src/stats-writer';

/*
 * A property test of the rollups against hourly_stats and the raw events: random traffic
 * (people, Apple MPP, bots, HEAD checks, scanner bursts, early clicks, hits before their message)
 * goes through the real StatsWriter in random batches, some written twice; whatever the order,
 * link_daily_stats and machine_daily_stats must say what hourly_stats and the opens/clicks rows
 * say, per server, tracking domain, tag and UTC day. STATS_PROPERTY_SEED=<n> replays a run.
 */

const HOUR = 3_600_000;
/** 20:00 UTC, so a message's hits fall on its day and the next ones. */
const T0 = Date.UTC(2026, 10, 20, 20, 0, 0);
const LINKS = 5;
const SERVERS = ['srv-prop-a', 'srv-prop-b'];
const DOMAINS = ['click.a.example', 'track.b.example'];
const TAGS = [undefined, 'welcome', 'news'];
const PERSON_AGENTS = [BROWSER_AGENT, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'];

/** mulberry32: small, seedable, good enough to pick test cases. */
function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (below: number) => Math.floor(next() * below);
  const hex = (digits: number) => Array.from({ length: digits }, () => int(16).toString(16)).join('');
  return {
    chance: (p: number) => next() < p,
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)],
    /** Event ids from the seed too, so a replay is the same run. */
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`,
  };
}
type Random = ReturnType<typeof seededRandom>;

interface Arrival {
  event: TrackingEvent;
  /** When the aggregator receives it: hits are roughly in order, some messages arrive late. */
  receivedAt: number;
}

/** One message and everything that happens to it. */
function messageTraffic(random: Random, index: number): Arrival[] {
  const token = fixtureToken(`p${index}`);
  const server = random.pick(SERVERS);
  const sentAt = T0 + random.int(30 * HOUR);
  const arrivals: Arrival[] = [];
  // Within minutes, or (a tracker's spool replayed) up to a day later.
  const hit = (at: number) => ({ at, receivedAt: at + (random.chance(0.05) ? random.int(24 * HOUR) : random.int(10 * 60_000)) });
  const open = (options: HitFixture) => ({ event: { ...openEventFixture(token, { server, ...options }), id: random.uuid() }, receivedAt: hit(options.at).receivedAt });
  const click = (link: number, options: HitFixture) => ({ event: { ...clickEventFixture(token, link, { server, ...options }), id: random.uuid() }, receivedAt: hit(options.at).receivedAt });
  const later = () => sentAt + 3_000 + random.int(40 * HOUR);
  const personIp = `198.51.100.${random.int(250)}`;

  for (let n = random.int(4); n > 0; n--) {
    const kind = random.int(4);
    if (kind === 0) arrivals.push(open({ at: later(), ip: personIp, userAgent: random.pick(PERSON_AGENTS) }));
    else if (kind === 1) arrivals.push(open({ at: sentAt + random.int(HOUR), ip: '17.58.0.1', userAgent: 'Mozilla/5.0' })); // Apple MPP
    else if (kind === 2) arrivals.push(open({ at: later(), ip: '203.0.113.9', userAgent: 'curl/8.5.0' })); // a bot
    else arrivals.push(open({ at: later(), method: 'HEAD', userAgent: 'LinkChecker' }));
  }
  for (let n = random.int(5); n > 0; n--) {
    const kind = random.int(5);
    const link = random.int(LINKS);
    if (kind <= 1) arrivals.push(click(link, { at: later(), ip: personIp, userAgent: random.pick(PERSON_AGENTS) }));
    else if (kind === 2) arrivals.push(click(link, { at: later(), method: 'HEAD', userAgent: 'LinkChecker' }));
    else if (kind === 3) arrivals.push(click(link, { at: sentAt + random.int(1_900), ip: personIp })); // a scanner right after the send
    else arrivals.push(click(link, { at: later(), ip: '203.0.113.9', userAgent: 'python-requests/2.32' }));
  }
  if (random.chance(0.3)) {
    // A scanner following every link from one IP within a second, looking like a browser;
    // sometimes completed by a click received much later (the stored ones become machines').
    const start = later();
    const ip = `40.94.${random.int(200)}.1`;
    const links = 3 + random.int(LINKS - 2);
    for (let link = 0; link < links; link++) {
      const at = start + random.int(1_000);
      const received = link === links - 1 && random.chance(0.5) ? at + random.int(3 * HOUR) : at + random.int(60_000);
      arrivals.push({ event: { ...clickEventFixture(token, link, { server, at, ip }), id: random.uuid() }, receivedAt: received });
    }
  }
  if (random.chance(0.1)) arrivals.push(click(random.int(LINKS), { at: sentAt - random.int(60_000) - 1, ip: personIp })); // before the send

  // Most messages are received first; some after (part of) their hits, a few never.
  const lateBy = random.chance(0.3) ? random.int(30 * HOUR) : 0;
  if (!random.chance(0.05)) {
    const tag = random.pick(TAGS);
    const message = messageEventFixture(token, { at: sentAt, server, trackingDomain: random.pick(DOMAINS), links: LINKS, ...(tag !== undefined ? { tag } : {}) });
    arrivals.push({ event: { ...message, id: random.uuid() }, receivedAt: sentAt + lateBy });
  }
  return arrivals;
}

/** The stream cut into random batches, some delivered twice (at once, or again later). */
function deliveries(random: Random, events: readonly TrackingEvent[]): TrackingEvent[][] {
  const batches: TrackingEvent[][] = [];
  const replayLater: TrackingEvent[][] = [];
  for (let i = 0; i < events.length; ) {
    const batch = events.slice(i, i + 1 + random.int(40));
    i += batch.length;
    batches.push(batch);
    if (random.chance(0.1)) batches.push(batch);
    if (random.chance(0.1)) replayLater.push(batch);
    if (replayLater.length > 0 && random.chance(0.2)) batches.push(replayLater.shift()!);
  }
  return [...batches, ...replayLater];
}

type Counts = Record<string, number>;

/** Rows of `key, name, value` as `{ key: { name: value } }`, zero values left out. */
function byKey(rows: readonly { key: string; name: string; value: string | number }[]): Record<string, Counts> {
  const result: Record<string, Counts> = {};
  for (const row of rows) {
    const value = Number(row.value);
    if (value !== 0) (result[row.key] ??= {})[row.name] = (result[row.key][row.name] ?? 0) + value;
  }
  return result;
}

/** The key every comparison groups by: server, tracking domain, tag, UTC day. */
const dayKey = (day: string) => sql.raw(`server || ' ' || tracking_domain || ' ' || tag || ' ' || to_char(${day} at time zone 'UTC', 'YYYY-MM-DD')`);

async function hourlyPerDay(temp: TemporaryDatabase) {
  const rows = await sql<{ key: string; name: string; value: string }>`
    select ${dayKey('hour')} as key, name, sum(value) as value
    from hourly_stats, lateral (values ('clicks', clicks), ('human_clicks', human_clicks), ('opens', opens), ('human_opens', human_opens),
                                       ('machine_opens', opens - human_opens), ('machine_clicks', clicks - human_clicks)) as v(name, value)
    group by 1, 2`.execute(temp.db);
  return byKey(rows.rows);
}

/** The raw events of messages that arrived, attributed like the writer attributes them. */
const rawEvents = sql.raw(`(
  select m.server, m.tracking_domain, coalesce(m.tag, '') as tag, e.at, e.kind, e.url, e.machine, e.machine_reason
  from (select message_token, at, 'open' as kind, null as url, machine, machine_reason from opens
        union all select message_token, at, 'click', url, machine, machine_reason from clicks) e
  join messages m on m.token = e.message_token
  where m.platform_message_id is not null) raw`);

async function rawPerDay(temp: TemporaryDatabase) {
  const rows = await sql<{ key: string; name: string; value: string }>`
    select ${dayKey('at')} as key, name, sum(value) as value
    from ${rawEvents}, lateral (values (kind || 's', 1), ('human_' || kind || 's', case when machine then 0 else 1 end),
                                       ('machine_' || kind || 's', case when machine then 1 else 0 end)) as v(name, value)
    group by 1, 2`.execute(temp.db);
  return byKey(rows.rows);
}

async function rollupsPerDay(temp: TemporaryDatabase) {
  const rows = await sql<{ key: string; name: string; value: string }>`
    select ${dayKey('day')} as key, 'clicks' as name, sum(clicks) as value from link_daily_stats group by 1
    union all select ${dayKey('day')}, 'human_clicks', sum(human_clicks) from link_daily_stats group by 1
    union all select ${dayKey('day')}, 'machine_' || kind || 's', sum(hits) from machine_daily_stats group by 1, 2`.execute(temp.db);
  return byKey(rows.rows);
}

/** The rollups at their own grain (URL, reason) against the raw rows at that grain. */
async function finerGrain(temp: TemporaryDatabase) {
  const rollups = await sql<{ key: string; name: string; value: string }>`
    select ${dayKey('day')} || ' ' || url as key, 'clicks' as name, clicks as value from link_daily_stats
    union all select ${dayKey('day')} || ' ' || url, 'human_clicks', human_clicks from link_daily_stats
    union all select ${dayKey('day')} || ' ' || kind || ' ' || reason, 'hits', hits from machine_daily_stats`.execute(temp.db);
  const raw = await sql<{ key: string; name: string; value: string }>`
    select ${dayKey('at')} || ' ' || url as key, 'clicks' as name, count(*) as value from ${rawEvents} where kind = 'click' group by 1
    union all select ${dayKey('at')} || ' ' || url, 'human_clicks', count(*) filter (where not machine) from ${rawEvents} where kind = 'click' group by 1
    union all select ${dayKey('at')} || ' ' || kind || ' ' || coalesce(machine_reason, 'unknown'), 'hits', count(*) from ${rawEvents} where machine group by 1`.execute(temp.db);
  return { rollups: byKey(rollups.rows), raw: byKey(raw.rows) };
}

let temp: TemporaryDatabase;
beforeEach(async () => {
  temp = await temporaryDatabase();
});
afterEach(async () => {
  await temp.drop();
});

const ROUNDS = 3;
/** Messages per run; STATS_PROPERTY_MESSAGES raises it for a longer hunt. */
const MESSAGES = Number(process.env.STATS_PROPERTY_MESSAGES ?? 150);

/** Writes a batch as the aggregator does: a deadlock with another writer is retried. */
async function writeRetrying(writer: StatsWriter, batch: readonly TrackingEvent[]): Promise<void> {
  for (;;) {
    try {
      await writer.write(batch);
      return;
    } catch (error) {
      if (!isTransientDatabaseError(error)) throw error;
    }
  }
}

/**
 * One seeded run: the traffic through `writers` StatsWriters at once (the batches dealt out in
 * turn, as several aggregators take jobs off one queue), then every sum compared.
 */
async function checkRun(writers: number): Promise<void> {
  const seed = process.env.STATS_PROPERTY_SEED ? Number(process.env.STATS_PROPERTY_SEED) : randomInt(2 ** 31);
  try {
    const random = seededRandom(seed);
    const stream = Array.from({ length: MESSAGES }, (_, index) => messageTraffic(random, index))
      .flat()
      .sort((a, b) => a.receivedAt - b.receivedAt)
      .map((arrival) => arrival.event);
    const batches = deliveries(random, stream);
    await Promise.all(
      Array.from({ length: writers }, async (_, n) => {
        const writer = new StatsWriter(temp.db, new EventPartitions(temp.db));
        for (const batch of batches.filter((_, i) => i % writers === n)) await writeRetrying(writer, batch);
      }),
    );

    const hourly = await hourlyPerDay(temp);
    const rollups = await rollupsPerDay(temp);
    const pick = (counts: Record<string, Counts>, names: string[]) =>
      Object.fromEntries(Object.entries(counts).map(([key, c]) => [key, Object.fromEntries(names.filter((n) => c[n]).map((n) => [n, c[n]]))]).filter(([, c]) => Object.keys(c).length > 0));
    const rollupNames = ['clicks', 'human_clicks', 'machine_opens', 'machine_clicks'];
    expect(rollups).toEqual(pick(hourly, rollupNames));
    expect(hourly).toEqual(await rawPerDay(temp));
    const finer = await finerGrain(temp);
    expect(finer.rollups).toEqual(finer.raw);
    // The run really exercised what it claims to (a generator gone wrong would pass vacuously).
    const reasons = await sql<{ reason: string }>`select distinct reason from machine_daily_stats where hits > 0`.execute(temp.db);
    expect(reasons.rows.map((row) => row.reason).sort()).toEqual(expect.arrayContaining(['apple-mpp', 'bot', 'burst', 'early-click', 'non-get']));
  } catch (error) {
    if (error instanceof Error) error.message = `STATS_PROPERTY_SEED=${seed} replays this run\n${error.message}`;
    throw error;
  }
}

describe('StatsWriter: the rollups never drift from hourly_stats and the raw events (seeded random traffic)', () => {
  test.each(Array.from({ length: ROUNDS }, (_, round) => round + 1))('one writer, run %i', () => checkRun(1));
  test('two writers at once (two aggregators on one queue)', () => checkRun(2));
});

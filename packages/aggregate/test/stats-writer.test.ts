import { EventPartitions, migrations } from '@mailbeacon/db';
import {
  BROWSER_AGENT,
  clickEventFixture as click,
  FIXTURE_DOMAIN,
  FIXTURE_SERVER,
  fixtureToken,
  linkUrl,
  messageEventFixture as message,
  openEventFixture as open,
  temporaryDatabase,
  type TemporaryDatabase,
} from '@mailbeacon/testing';
import { sql, type Kysely } from 'kysely';
import { StatsWriter } from '../src/stats-writer';

const HOUR = 3_600_000;
/** A fixed, hour-aligned send time, so hours are easy to name. */
const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

let temp: TemporaryDatabase;
let writer: StatsWriter;

beforeEach(async () => {
  temp = await temporaryDatabase();
  writer = new StatsWriter(temp.db, new EventPartitions(temp.db));
});
afterEach(async () => {
  await temp.drop();
});

async function messageRow(token: string) {
  return temp.db.selectFrom('messages').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
}

/** hourly_stats as plain numbers, keyed by hour offset from T0, zero rows left out. */
async function hourly(tag = '') {
  const rows = await temp.db.selectFrom('hourly_stats').selectAll().where('tag', '=', tag).orderBy('hour').execute();
  const result: Record<number, Record<string, number>> = {};
  for (const row of rows) {
    const counts: Record<string, number> = {};
    for (const key of ['messages', 'opens', 'unique_opens', 'clicks', 'unique_clicks', 'human_opens', 'human_unique_opens', 'human_clicks', 'human_unique_clicks'] as const) {
      if (Number(row[key]) !== 0) counts[key] = Number(row[key]);
    }
    if (Object.keys(counts).length > 0) result[(row.hour.getTime() - T0) / HOUR] = counts;
  }
  return result;
}

async function totals() {
  const row = await sql<Record<string, string>>`
    select coalesce(sum(messages), 0) as messages, coalesce(sum(opens), 0) as opens, coalesce(sum(unique_opens), 0) as unique_opens,
           coalesce(sum(clicks), 0) as clicks, coalesce(sum(unique_clicks), 0) as unique_clicks,
           coalesce(sum(human_opens), 0) as human_opens, coalesce(sum(human_unique_opens), 0) as human_unique_opens,
           coalesce(sum(human_clicks), 0) as human_clicks, coalesce(sum(human_unique_clicks), 0) as human_unique_clicks
    from hourly_stats`.execute(temp.db);
  return Object.fromEntries(Object.entries(row.rows[0]).map(([key, value]) => [key, Number(value)]));
}

async function clickRows(token: string) {
  return temp.db.selectFrom('clicks').select(['link_index', 'at', 'machine', 'machine_reason']).where('message_token', '=', token).orderBy('at').execute();
}

describe('StatsWriter: a scripted sequence', () => {
  test('every table holds exactly what happened, with machines kept apart', async () => {
    const a = fixtureToken('a');
    const b = fixtureToken('b');
    await writer.write([message(a, { at: T0, tag: 'welcome' }), message(b, { at: T0 + 10 * 60_000 })]);

    const first = await writer.write([
      open(a, { at: T0 + 5 * 60_000 }), // a person
      open(a, { at: T0 + 6 * 60_000, userAgent: 'Mozilla/5.0' }), // Apple MPP
      open(a, { at: T0 + 7 * 60_000, userAgent: GMAIL_PROXY }), // a person through Gmail's proxy
      open(b, { at: T0 + 20 * 60_000, userAgent: 'curl/8.5.0' }), // a bot
      click(a, 2, { at: T0 + 8 * 60_000 }), // a person
      click(a, 2, { at: T0 + 9 * 60_000, method: 'HEAD', userAgent: 'LinkChecker' }), // a link checker
    ]);
    expect(first).toMatchObject({ events: 6, stored: 6, duplicates: 0, reclassified: 0 });
    await writer.write([
      open(a, { at: T0 + HOUR + 60_000, ip: '198.51.100.0' }), // the person again, next hour
      click(a, 4, { at: T0 + HOUR + 2 * 60_000 }),
      click(b, 0, { at: T0 + HOUR + 3 * 60_000, ip: '203.0.113.0' }),
    ]);

    const rowA = await messageRow(a);
    expect(rowA).toMatchObject({
      server: FIXTURE_SERVER, platform_message_id: `<${a}@mail.example.com>`, recipient: `${a}@example.org`, tag: 'welcome',
      tracking_domain: FIXTURE_DOMAIN, link_count: 5, pixel: true,
      opens: 4, human_opens: 3, clicks: 3, human_clicks: 2,
    });
    expect(rowA.sent_at).toEqual(new Date(T0));
    expect(rowA.first_opened_at).toEqual(new Date(T0 + 5 * 60_000));
    expect(rowA.last_opened_at).toEqual(new Date(T0 + HOUR + 60_000));
    expect(rowA.first_human_opened_at).toEqual(new Date(T0 + 5 * 60_000));
    expect(rowA.first_clicked_at).toEqual(new Date(T0 + 8 * 60_000));
    expect(rowA.last_clicked_at).toEqual(new Date(T0 + HOUR + 2 * 60_000));
    expect(rowA.first_human_clicked_at).toEqual(new Date(T0 + 8 * 60_000));
    expect(await messageRow(b)).toMatchObject({ tag: null, opens: 1, human_opens: 0, clicks: 1, human_clicks: 1, first_human_opened_at: null });

    const opens = await temp.db.selectFrom('opens').select(['user_agent', 'machine', 'machine_reason', 'proxy']).orderBy('at').execute();
    expect(opens.map((o) => [o.machine, o.machine_reason, o.proxy])).toEqual([
      [false, null, null],
      [true, 'apple-mpp', 'apple'],
      [false, null, 'google'],
      [true, 'bot', null],
      [false, null, null],
    ]);
    expect((await clickRows(a)).map((c) => [c.link_index, c.machine, c.machine_reason])).toEqual([
      [2, false, null],
      [2, true, 'non-get'],
      [4, false, null],
    ]);

    const links = await temp.db.selectFrom('link_stats').selectAll().orderBy('message_token').orderBy('link_index').execute();
    expect(links.map((l) => [l.message_token, l.link_index, l.url, l.clicks, l.human_clicks])).toEqual([
      [a, 2, linkUrl(2), 2, 1],
      [a, 4, linkUrl(4), 1, 1],
      [b, 0, linkUrl(0), 1, 1],
    ]);
    expect(links[0].first_clicked_at).toEqual(new Date(T0 + 8 * 60_000));
    expect(links[0].last_clicked_at).toEqual(new Date(T0 + 9 * 60_000));

    expect(await hourly('welcome')).toEqual({
      0: { messages: 1, opens: 3, unique_opens: 1, human_opens: 2, human_unique_opens: 1, clicks: 2, unique_clicks: 1, human_clicks: 1, human_unique_clicks: 1 },
      1: { opens: 1, human_opens: 1, clicks: 1, human_clicks: 1 },
    });
    expect(await hourly('')).toEqual({
      0: { messages: 1, opens: 1, unique_opens: 1 },
      1: { clicks: 1, unique_clicks: 1, human_clicks: 1, human_unique_clicks: 1 },
    });
  });

  test('a prefetch and an empty agent are machines; Outlook and a phone are people', async () => {
    const a = fixtureToken('p');
    await writer.write([
      message(a, { at: T0 }),
      open(a, { at: T0 + 60_000, purpose: 'prefetch' }),
      open(a, { at: T0 + 61_000, userAgent: null }),
      open(a, { at: T0 + 62_000, userAgent: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)' }),
      open(a, { at: T0 + 63_000, userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148' }),
      open(a, { at: T0 + 64_000, userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0' }),
    ]);
    const opens = await temp.db.selectFrom('opens').select(['machine_reason']).orderBy('at').execute();
    expect(opens.map((o) => o.machine_reason)).toEqual(['prefetch', 'no-user-agent', null, null, 'gmail-prefetch']);
    expect(await messageRow(a)).toMatchObject({ opens: 5, human_opens: 2 });
  });
});

describe('StatsWriter: exactly once', () => {
  test('a redelivered batch and an event repeated in one batch are counted once', async () => {
    const a = fixtureToken('d');
    const events = [message(a, { at: T0 }), open(a, { at: T0 + 60_000 }), click(a, 1, { at: T0 + 120_000 })];
    const first = await writer.write(events);
    expect(first).toMatchObject({ events: 3, stored: 3, duplicates: 0, reclassified: 0 });
    expect(first.byType.open).toEqual({ events: 1, stored: 1, duplicates: 0, storedAt: [T0 + 60_000] });
    const again = await writer.write(events);
    expect(again).toMatchObject({ events: 3, stored: 0, duplicates: 3, reclassified: 0 });
    expect(again.byType).toEqual({
      message: { events: 1, stored: 0, duplicates: 1, storedAt: [] },
      open: { events: 1, stored: 0, duplicates: 1, storedAt: [] },
      click: { events: 1, stored: 0, duplicates: 1, storedAt: [] },
    });
    expect(await writer.write([events[1], events[1], events[2]])).toMatchObject({ events: 2, stored: 0, duplicates: 2, reclassified: 0 });
    expect(await messageRow(a)).toMatchObject({ opens: 1, clicks: 1, human_opens: 1, human_clicks: 1 });
    expect(await totals()).toMatchObject({ messages: 1, opens: 1, unique_opens: 1, clicks: 1, unique_clicks: 1 });
    expect((await temp.db.selectFrom('link_stats').select('clicks').executeTakeFirstOrThrow()).clicks).toBe(1);
  });

  test('two writers on the same messages at once count every event once', async () => {
    const other = new StatsWriter(temp.db, new EventPartitions(temp.db));
    const tokens = Array.from({ length: 20 }, (_, i) => fixtureToken(`c${i}`));
    await writer.write(tokens.map((token) => message(token, { at: T0 })));
    const batch = (n: number) =>
      Array.from({ length: 400 }, (_, i) =>
        i % 2 ? open(tokens[(i + n) % 20], { at: T0 + 60_000 + i * 1000 }) : click(tokens[(i * 7 + n) % 20], i % 5, { at: T0 + 60_000 + i * 1000, ip: `10.0.${i}.0` }),
      );
    const batches = [batch(0), batch(1), batch(2), batch(3)];
    await Promise.all([writer.write(batches[0]), other.write(batches[1]), writer.write(batches[2]), other.write(batches[3])]);
    // …and all of them again, crosswise.
    await Promise.all([other.write(batches[0]), writer.write(batches[1]), other.write(batches[2]), writer.write(batches[3])]);
    expect(await totals()).toMatchObject({ messages: 20, opens: 800, clicks: 800, human_opens: 800, human_clicks: 800 });
    const sums = await sql<{ opens: string; clicks: string }>`select sum(opens) as opens, sum(clicks) as clicks from messages`.execute(temp.db);
    expect(sums.rows[0]).toEqual({ opens: '800', clicks: '800' });
  });

  test('text Postgres cannot hold (NUL) is stored with a replacement character, not refused', async () => {
    const a = fixtureToken('n');
    await writer.write([
      message(a, { at: T0, recipient: 'bob\0@example.org' }),
      open(a, { at: T0 + 60_000, userAgent: 'Mail\0Client' }),
      { ...click(a, 1, { at: T0 + 120_000 }), url: 'https://example.com/\0' },
    ]);
    expect((await messageRow(a)).recipient).toBe('bob\uFFFD@example.org');
    expect((await temp.db.selectFrom('opens').select('user_agent').executeTakeFirstOrThrow()).user_agent).toBe('Mail\uFFFDClient');
    expect((await temp.db.selectFrom('clicks').select('url').executeTakeFirstOrThrow()).url).toBe('https://example.com/\uFFFD');
    expect((await temp.db.selectFrom('link_stats').select('url').executeTakeFirstOrThrow()).url).toBe('https://example.com/\uFFFD');
  });
});

describe('StatsWriter: events before their message', () => {
  test('are counted on the message at once and enter hourly_stats when the message arrives', async () => {
    const a = fixtureToken('o');
    await writer.write([open(a, { at: T0 + HOUR + 60_000 }), open(a, { at: T0 + 2 * HOUR, userAgent: 'Mozilla/5.0' })]);
    await writer.write([click(a, 3, { at: T0 + HOUR + 120_000 })]);
    expect(await messageRow(a)).toMatchObject({ platform_message_id: null, sent_at: null, opens: 2, human_opens: 1, clicks: 1, human_clicks: 1 });
    expect(await hourly('promo')).toEqual({});
    expect(await totals()).toMatchObject({ opens: 0, clicks: 0 });

    await writer.write([message(a, { at: T0, tag: 'promo' }), open(a, { at: T0 + 30 * 60_000 })]);
    expect(await messageRow(a)).toMatchObject({ platform_message_id: `<${a}@mail.example.com>`, tag: 'promo', opens: 3, human_opens: 2, clicks: 1 });
    expect(await hourly('promo')).toEqual({
      0: { messages: 1, opens: 1, unique_opens: 1, human_opens: 1, human_unique_opens: 1 },
      1: { opens: 1, human_opens: 1, clicks: 1, unique_clicks: 1, human_clicks: 1, human_unique_clicks: 1 },
      2: { opens: 1 },
    });
  });

  test('a click that came early is judged again once the send time is known', async () => {
    const a = fixtureToken('e');
    await writer.write([click(a, 0, { at: T0 + 1000 }), click(a, 1, { at: T0 + 10 * 60_000 })]);
    expect(await messageRow(a)).toMatchObject({ clicks: 2, human_clicks: 2 });
    const summary = await writer.write([message(a, { at: T0 })]);
    expect(summary.reclassified).toBe(1);
    expect((await clickRows(a)).map((c) => [c.link_index, c.machine, c.machine_reason])).toEqual([
      [0, true, 'early-click'],
      [1, false, null],
    ]);
    const row = await messageRow(a);
    expect(row).toMatchObject({ clicks: 2, human_clicks: 1 });
    expect(row.first_human_clicked_at).toEqual(new Date(T0 + 10 * 60_000));
    expect(await totals()).toMatchObject({ clicks: 2, unique_clicks: 1, human_clicks: 1, human_unique_clicks: 1 });
    const link0 = await temp.db.selectFrom('link_stats').selectAll().where('link_index', '=', 0).executeTakeFirstOrThrow();
    expect([link0.clicks, link0.human_clicks]).toEqual([1, 0]);
  });

  test('a late open earlier than the first one moves the unique open to its hour', async () => {
    const a = fixtureToken('u');
    await writer.write([message(a, { at: T0 }), open(a, { at: T0 + 2 * HOUR + 60_000 })]);
    expect(await hourly()).toEqual({ 0: { messages: 1 }, 2: { opens: 1, unique_opens: 1, human_opens: 1, human_unique_opens: 1 } });
    await writer.write([open(a, { at: T0 + 30 * 60_000 })]);
    expect(await hourly()).toEqual({
      0: { messages: 1, opens: 1, unique_opens: 1, human_opens: 1, human_unique_opens: 1 },
      2: { opens: 1, human_opens: 1 },
    });
  });
});

describe('StatsWriter: scanners', () => {
  test('a burst across batches flags every click of it, earlier ones included, and moves the unique human click', async () => {
    const a = fixtureToken('s');
    const scanner = { ip: '40.94.0.0', userAgent: BROWSER_AGENT };
    await writer.write([message(a, { at: T0 })]);
    await writer.write([click(a, 0, { at: T0 + 30_000, ...scanner }), click(a, 1, { at: T0 + 30_500, ...scanner })]);
    expect(await messageRow(a)).toMatchObject({ human_clicks: 2 });
    expect(await totals()).toMatchObject({ human_unique_clicks: 1 });

    const summary = await writer.write([click(a, 2, { at: T0 + 31_200, ...scanner }), click(a, 2, { at: T0 + HOUR + 60_000, ip: '192.0.2.0' })]);
    expect(summary.reclassified).toBe(2);
    expect((await clickRows(a)).map((c) => [c.link_index, c.machine_reason])).toEqual([
      [0, 'burst'],
      [1, 'burst'],
      [2, 'burst'],
      [2, null],
    ]);
    const row = await messageRow(a);
    expect(row).toMatchObject({ clicks: 4, human_clicks: 1 });
    expect(row.first_human_clicked_at).toEqual(new Date(T0 + HOUR + 60_000));
    expect(await hourly()).toEqual({
      0: { messages: 1, clicks: 3, unique_clicks: 1 },
      1: { clicks: 1, human_clicks: 1, human_unique_clicks: 1 },
    });
    const links = await temp.db.selectFrom('link_stats').select(['link_index', 'clicks', 'human_clicks']).orderBy('link_index').execute();
    expect(links).toEqual([
      { link_index: 0, clicks: 1, human_clicks: 0 },
      { link_index: 1, clicks: 1, human_clicks: 0 },
      { link_index: 2, clicks: 2, human_clicks: 1 },
    ]);
  });

  test('a person clicking the same link three times, or three links slowly, is not a burst', async () => {
    const a = fixtureToken('h');
    await writer.write([message(a, { at: T0 })]);
    await writer.write([0, 300, 600].map((delay) => click(a, 1, { at: T0 + 60_000 + delay })));
    await writer.write([0, 2500, 5000].map((delay, i) => click(a, i + 2, { at: T0 + 120_000 + delay })));
    expect(await messageRow(a)).toMatchObject({ clicks: 6, human_clicks: 6 });
  });

  test('clicks within the early window of the send time, or before it, are scanners', async () => {
    const a = fixtureToken('t');
    await writer.write([message(a, { at: T0 + 10_000 })]);
    await writer.write([click(a, 0, { at: T0 + 5_000 }), click(a, 1, { at: T0 + 11_000 }), click(a, 2, { at: T0 + 13_000 })]);
    expect((await clickRows(a)).map((c) => c.machine_reason)).toEqual(['before-send', 'early-click', null]);
  });
});

/** link_daily_stats as `tag domain +Nd url-index clicks/human` lines, in key order. */
async function linkDays() {
  const rows = await temp.db.selectFrom('link_daily_stats').selectAll().orderBy('tag').orderBy('tracking_domain').orderBy('day').orderBy('url').execute();
  const linkIndex = (url: string) => [0, 1, 2, 3, 4].find((index) => linkUrl(index) === url) ?? url;
  return rows.map((row) => `${row.tag} ${row.tracking_domain} +${(row.day.getTime() - Date.UTC(2026, 10, 20)) / (24 * HOUR)}d ${linkIndex(row.url)} ${row.clicks}/${row.human_clicks}`);
}

/** machine_daily_stats as `tag domain +Nd kind reason hits` lines, zero rows left out. */
async function machineDays() {
  const rows = await temp.db.selectFrom('machine_daily_stats').selectAll().where('hits', '!=', '0').orderBy('tag').orderBy('tracking_domain').orderBy('day').orderBy('kind').orderBy('reason').execute();
  return rows.map((row) => `${row.tag} ${row.tracking_domain} +${(row.day.getTime() - Date.UTC(2026, 10, 20)) / (24 * HOUR)}d ${row.kind} ${row.reason} ${row.hits}`);
}

describe('StatsWriter: the rollups by URL and by machine reason', () => {
  test('clicks on one URL add up across messages, per day; a burst completed later moves its clicks to machines', async () => {
    const a = fixtureToken('ra');
    const b = fixtureToken('rb');
    const scanner = { ip: '40.94.0.0', userAgent: BROWSER_AGENT };
    await writer.write([message(a, { at: T0, tag: 'promo' }), message(b, { at: T0, tag: 'promo' })]);
    await writer.write([
      click(a, 0, { at: T0 + 30_000, ...scanner }),
      click(a, 1, { at: T0 + 30_500, ...scanner }),
      open(a, { at: T0 + 5 * 60_000, userAgent: 'Mozilla/5.0' }),
      open(b, { at: T0 + HOUR + 60_000, userAgent: 'curl/8.5.0' }),
      click(b, 0, { at: T0 + HOUR }),
    ]);
    expect(await linkDays()).toEqual([
      `promo ${FIXTURE_DOMAIN} +0d 0 2/2`,
      `promo ${FIXTURE_DOMAIN} +0d 1 1/1`,
    ]);
    expect(await machineDays()).toEqual([`promo ${FIXTURE_DOMAIN} +0d open apple-mpp 1`, `promo ${FIXTURE_DOMAIN} +0d open bot 1`]);

    // The third link completes the burst: a's two stored clicks become machines' too.
    const summary = await writer.write([
      click(a, 2, { at: T0 + 31_200, ...scanner }),
      click(b, 0, { at: T0 + 2 * HOUR, method: 'HEAD', userAgent: 'LinkChecker' }),
      click(b, 1, { at: T0 + 20 * HOUR }), // 05:00 the next day
    ]);
    expect(summary.reclassified).toBe(2);
    expect(await linkDays()).toEqual([
      `promo ${FIXTURE_DOMAIN} +0d 0 3/1`,
      `promo ${FIXTURE_DOMAIN} +0d 1 1/0`,
      `promo ${FIXTURE_DOMAIN} +0d 2 1/0`,
      `promo ${FIXTURE_DOMAIN} +1d 1 1/1`,
    ]);
    expect(await machineDays()).toEqual([
      `promo ${FIXTURE_DOMAIN} +0d click burst 3`,
      `promo ${FIXTURE_DOMAIN} +0d click non-get 1`,
      `promo ${FIXTURE_DOMAIN} +0d open apple-mpp 1`,
      `promo ${FIXTURE_DOMAIN} +0d open bot 1`,
    ]);
    // The same events as hourly_stats: every machine hit under one reason, every click under its URL.
    const counted = await totals();
    expect(counted.opens - counted.human_opens).toBe(2);
    expect(counted.clicks - counted.human_clicks).toBe(4);
    expect(counted).toMatchObject({ clicks: 6, human_clicks: 2 });
  });

  test('machine hits of one reason add up per UTC day, whatever their hour, in the batch and across batches', async () => {
    const f = fixtureToken('rf');
    const g = fixtureToken('rg');
    await writer.write([message(f, { at: T0, tag: 'daily' }), message(g, { at: T0, tag: 'daily' })]);
    const mpp = { userAgent: 'Mozilla/5.0' };
    // 09:05, 11:00 and 23:59 on day 0 (two messages, one batch), 00:00 and 08:00 on day 1.
    await writer.write([open(f, { at: T0 + 5 * 60_000, ...mpp }), open(g, { at: T0 + 2 * HOUR, ...mpp }), open(f, { at: T0 + 15 * HOUR - 60_000, ...mpp })]);
    await writer.write([open(g, { at: T0 + 15 * HOUR, ...mpp }), open(f, { at: T0 + 23 * HOUR, ...mpp }), open(g, { at: T0 + 3 * HOUR, ...mpp })]);
    expect(await machineDays()).toEqual([`daily ${FIXTURE_DOMAIN} +0d open apple-mpp 4`, `daily ${FIXTURE_DOMAIN} +1d open apple-mpp 2`]);
  });

  test('hits before their message enter the rollups with its tag and tracking domain when it arrives, judged again', async () => {
    const c = fixtureToken('rc');
    await writer.write([
      click(c, 0, { at: T0 + 1000 }),
      click(c, 1, { at: T0 + 10 * 60_000 }),
      click(c, 1, { at: T0 + 11 * 60_000, method: 'HEAD', userAgent: 'LinkChecker' }),
      open(c, { at: T0 + 2 * 60_000, userAgent: 'Mozilla/5.0' }),
    ]);
    expect(await linkDays()).toEqual([]);
    expect(await machineDays()).toEqual([]);

    await writer.write([message(c, { at: T0, tag: 'late', trackingDomain: 'click.late.example' })]);
    expect(await linkDays()).toEqual(['late click.late.example +0d 0 1/0', 'late click.late.example +0d 1 2/1']);
    expect(await machineDays()).toEqual([
      'late click.late.example +0d click early-click 1',
      'late click.late.example +0d click non-get 1',
      'late click.late.example +0d open apple-mpp 1',
    ]);

    // Redelivered, and a click after the arrival: counted once, as it comes.
    await writer.write([message(c, { at: T0, tag: 'late', trackingDomain: 'click.late.example' }), click(c, 1, { at: T0 + 3 * HOUR })]);
    expect(await linkDays()).toEqual(['late click.late.example +0d 0 1/0', 'late click.late.example +0d 1 3/2']);
  });

  test('the migration backfills both from link_stats and the raw events kept', async () => {
    const d = fixtureToken('rd');
    const e = fixtureToken('re');
    await writer.write([message(d, { at: T0, tag: 'promo' }), message(e, { at: T0 })]);
    await writer.write([
      click(d, 0, { at: T0 + HOUR }), click(e, 0, { at: T0 + 2 * HOUR }), click(e, 0, { at: T0 + 3 * HOUR, method: 'HEAD' }),
      open(d, { at: T0 + 60_000, userAgent: 'Mozilla/5.0' }), open(e, { at: T0 + HOUR, userAgent: '' }),
      click(fixtureToken('never-sent'), 1, { at: T0 + HOUR }), // its message never arrived: in neither rollup
    ]);
    const written = { links: await linkDays(), machines: await machineDays() };
    expect(written.links).toEqual([` ${FIXTURE_DOMAIN} +0d 0 2/1`, `promo ${FIXTURE_DOMAIN} +0d 0 1/1`]);
    expect(written.machines).toHaveLength(3);

    const statsRollups = migrations['0005-stats-rollups'];
    await statsRollups.down!(temp.db as Kysely<unknown>);
    await statsRollups.up(temp.db as Kysely<unknown>);
    expect({ links: await linkDays(), machines: await machineDays() }).toEqual(written);
  });
});

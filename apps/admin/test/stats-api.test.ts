import { StatsWriter } from '@mailbeacon/aggregate';
import { EventPartitions, ServerRepository, TIMELINE_HITS_SHOWN } from '@mailbeacon/db';
import {
  BROWSER_AGENT, capturingLogger, clickEventFixture as clickEvent, FIXTURE_DOMAIN, fixtureToken, linkUrl, messageEventFixture as messageEvent, openEventFixture as openEvent, temporaryDatabase, type TemporaryDatabase,
} from '@mailbeacon/testing';
import type { Express } from 'express';
import request from 'supertest';
import { adminAppOver } from './admin-over-database';
import { DAY, HOUR, iso, SCRIPTED, T0, writeScriptedStats } from './scripted-stats';

/*
 * The stats API over a real PostgreSQL, filled through the aggregator's real StatsWriter with
 * a scripted send → open → click (scripted-stats.ts): the numbers must be exactly those events.
 */

const TOKEN = 'test-admin-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };
const { a, c } = SCRIPTED;

let temp: TemporaryDatabase;
let app: Express;
let server: string;
let other: string;

beforeAll(async () => {
  temp = await temporaryDatabase();
  const servers = new ServerRepository(temp.db);
  server = (await servers.create('Newsletters')).token;
  other = (await servers.create('Someone else')).token;
  app = adminAppOver(temp.db, TOKEN, capturingLogger('debug').logger);
  await writeScriptedStats(temp.db, server, other);
});

afterAll(async () => {
  await temp.drop();
});

const get = (path: string, query: Record<string, string> = {}) => request(app).get(path).query(query).set(auth);

describe('GET /servers/:token/stats/summary', () => {
  test('people by default: sent, opens and clicks with rates, and the machines by reason', async () => {
    const res = await get(`/servers/${server}/stats/summary`, DAY).expect(200);
    expect(res.body).toEqual({
      server, from: iso(Date.UTC(2026, 10, 20)), to: iso(Date.UTC(2026, 10, 21)), audience: 'people',
      messages: 2, opens: 1, uniqueOpens: 1, clicks: 2, uniqueClicks: 2,
      openRate: 0.5, clickRate: 1, clickToOpenRate: 2,
      machines: {
        opens: 2, clicks: 1, openShare: 2 / 3, clickShare: 1 / 3,
        openReasons: [{ reason: 'apple-mpp', hits: 1 }, { reason: 'bot', hits: 1 }],
        clickReasons: [{ reason: 'non-get', hits: 1 }],
      },
    });
  });

  test('audience=all counts everything; a tag or tracking domain narrows it', async () => {
    const all = await get(`/servers/${server}/stats/summary`, { ...DAY, audience: 'all' }).expect(200);
    expect(all.body).toMatchObject({ audience: 'all', messages: 2, opens: 3, uniqueOpens: 2, clicks: 3, uniqueClicks: 2, openRate: 1, clickRate: 1, clickToOpenRate: 1 });
    const promo = await get(`/servers/${server}/stats/summary`, { ...DAY, tag: 'promo' }).expect(200);
    expect(promo.body).toMatchObject({ tag: 'promo', messages: 1, opens: 1, clicks: 1, machines: { opens: 1, clicks: 1, openReasons: [{ reason: 'apple-mpp', hits: 1 }] } });
    const elsewhere = await get(`/servers/${server}/stats/summary`, { ...DAY, trackingDomain: 'click.elsewhere.example' }).expect(200);
    expect(elsewhere.body).toMatchObject({ messages: 0, opens: 0, openRate: null, machines: { opens: 0, openShare: null, openReasons: [] } });
    const here = await get(`/servers/${server}/stats/summary`, { ...DAY, trackingDomain: FIXTURE_DOMAIN }).expect(200);
    expect(here.body).toMatchObject({ trackingDomain: FIXTURE_DOMAIN, messages: 2 });
  });

  test('a range inside a day: counts by the hours it touches, machine reasons by the whole day', async () => {
    // 11:00-12:00 holds a person's click (11:00) and none of the machines' hits (09:06-10:02): no machine
    // hit counted, but the day's reasons still given.
    const res = await get(`/servers/${server}/stats/summary`, { from: '2026-11-20T11:00:00Z', to: '2026-11-20T12:00:00Z', audience: 'all' }).expect(200);
    expect(res.body).toMatchObject({
      messages: 0, opens: 0, clicks: 1,
      machines: { opens: 0, clicks: 0, openReasons: [{ reason: 'apple-mpp', hits: 1 }, { reason: 'bot', hits: 1 }], clickReasons: [{ reason: 'non-get', hits: 1 }] },
    });
    const nextDay = await get(`/servers/${server}/stats/summary`, { from: '2026-11-21T00:00:00Z', to: '2026-11-21T06:00:00Z' }).expect(200);
    expect(nextDay.body.machines).toMatchObject({ openReasons: [], clickReasons: [] });
  });

  test('another server sees only its own numbers', async () => {
    const res = await get(`/servers/${other}/stats/summary`, DAY).expect(200);
    expect(res.body).toMatchObject({ messages: 1, opens: 1, clicks: 0, machines: { opens: 0 } });
  });
});

describe('GET /servers/:token/stats/series', () => {
  test('hour by hour for a short range, zero-filled, in UTC', async () => {
    const res = await get(`/servers/${server}/stats/series`, { from: '2026-11-20T08:00:00Z', to: '2026-11-20T12:00:00Z' }).expect(200);
    const zero = { messages: 0, opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0 };
    expect(res.body).toMatchObject({ by: 'hour', audience: 'people' });
    expect(res.body.points).toEqual([
      { at: iso(T0 - HOUR), ...zero },
      { at: iso(T0), ...zero, messages: 2, opens: 1, uniqueOpens: 1 },
      { at: iso(T0 + HOUR), ...zero, clicks: 1, uniqueClicks: 1 },
      { at: iso(T0 + 2 * HOUR), ...zero, clicks: 1, uniqueClicks: 1 },
    ]);
  });

  test('day by day for a long range, or when asked', async () => {
    const week = await get(`/servers/${server}/stats/series`, { from: '2026-11-15', to: '2026-11-22', audience: 'all' }).expect(200);
    expect(week.body.by).toBe('day');
    expect(week.body.points).toHaveLength(7);
    expect(week.body.points[5]).toEqual({ at: iso(Date.UTC(2026, 10, 20)), messages: 2, opens: 3, uniqueOpens: 2, clicks: 3, uniqueClicks: 2 });
    expect(week.body.points.filter((point: { messages: number }) => point.messages === 0)).toHaveLength(6);
    const forced = await get(`/servers/${server}/stats/series`, { ...DAY, by: 'day' }).expect(200);
    expect(forced.body.points).toEqual([{ at: iso(Date.UTC(2026, 10, 20)), messages: 2, opens: 1, uniqueOpens: 1, clicks: 2, uniqueClicks: 2 }]);
  });
});

describe('GET /servers/:token/stats/tags and /links', () => {
  test('the counters per tag (null: untagged mail)', async () => {
    const res = await get(`/servers/${server}/stats/tags`, DAY).expect(200);
    expect(res.body.tags).toEqual([
      { tag: null, messages: 1, opens: 0, uniqueOpens: 0, clicks: 1, uniqueClicks: 1, openRate: 0, clickRate: 1, clickToOpenRate: null },
      { tag: 'promo', messages: 1, opens: 1, uniqueOpens: 1, clicks: 1, uniqueClicks: 1, openRate: 1, clickRate: 1, clickToOpenRate: 1 },
    ]);
  });

  test('top links add up one URL across messages, ordered by people\'s clicks', async () => {
    const res = await get(`/servers/${server}/stats/links`, { ...DAY, limit: '10' }).expect(200);
    expect(res.body).toMatchObject({ limit: 10, links: [{ url: linkUrl(1), clicks: 2, allClicks: 3 }] });
    expect(res.body.links).toHaveLength(1);
  });
});

describe('GET /servers/:token/messages/:idOrToken', () => {
  test('by the platform\'s message id or by token: the message and its timeline', async () => {
    const res = await get(`/servers/${server}/messages/${encodeURIComponent('<a@platform.example>')}`).expect(200);
    expect(res.body).toMatchObject({
      token: a, server, platformMessageId: '<a@platform.example>', tag: 'promo', trackingDomain: FIXTURE_DOMAIN, linkCount: 5, pixel: true,
      sentAt: iso(T0), opens: 2, humanOpens: 1, clicks: 2, humanClicks: 1, truncated: false,
    });
    expect(res.body.timeline).toEqual([
      { type: 'sent', at: iso(T0) },
      { type: 'open', at: iso(T0 + 5 * 60_000), ip: '192.0.2.0', userAgent: BROWSER_AGENT, method: 'GET', machine: false, machineReason: null, proxy: null },
      { type: 'open', at: iso(T0 + 6 * 60_000), ip: '192.0.2.0', userAgent: 'Mozilla/5.0', method: 'GET', machine: true, machineReason: 'apple-mpp', proxy: 'apple' },
      { type: 'click', at: iso(T0 + HOUR + 60_000), ip: '192.0.2.0', userAgent: BROWSER_AGENT, method: 'GET', machine: false, machineReason: null, linkIndex: 1, url: linkUrl(1) },
      { type: 'click', at: iso(T0 + HOUR + 2 * 60_000), ip: '192.0.2.0', userAgent: 'LinkChecker', method: 'HEAD', machine: true, machineReason: 'non-get', linkIndex: 1, url: linkUrl(1) },
    ]);
    const byToken = await get(`/servers/${server}/messages/${a}`).expect(200);
    expect(byToken.body).toEqual(res.body);
  });

  test(`the timeline shows the newest ${TIMELINE_HITS_SHOWN} opens and clicks and says it is truncated; the counts keep them all`, async () => {
    // A server of its own: the other tests' numbers stay those of the script.
    const server = (await new ServerRepository(temp.db).create('Scanned a lot')).token;
    const writer = new StatsWriter(temp.db, new EventPartitions(temp.db));
    const [busy, full] = [fixtureToken('timeline-busy'), fixtureToken('timeline-full')];
    const minute = (n: number) => T0 + n * 60_000;
    await writer.write([messageEvent(busy, { at: T0, server }), messageEvent(full, { at: T0, server })]);
    await writer.write(Array.from({ length: TIMELINE_HITS_SHOWN + 5 }, (_, i) => openEvent(busy, { at: minute(i + 1), server })));
    await writer.write([clickEvent(busy, 2, { at: minute(1000), server })]);
    await writer.write(Array.from({ length: TIMELINE_HITS_SHOWN }, (_, i) => openEvent(full, { at: minute(i + 1), server })));

    const res = await get(`/servers/${server}/messages/${busy}`).expect(200);
    expect(res.body).toMatchObject({ opens: TIMELINE_HITS_SHOWN + 5, clicks: 1, truncated: true });
    const opens = res.body.timeline.filter((entry: { type: string }) => entry.type === 'open');
    expect(opens).toHaveLength(TIMELINE_HITS_SHOWN);
    // The newest, oldest first: the five oldest opens are left out; the send and the click stay.
    expect(opens[0].at).toBe(iso(minute(6)));
    expect(opens.at(-1).at).toBe(iso(minute(TIMELINE_HITS_SHOWN + 5)));
    expect(res.body.timeline[0]).toEqual({ type: 'sent', at: iso(T0) });
    expect(res.body.timeline.at(-1)).toMatchObject({ type: 'click', at: iso(minute(1000)) });

    const exactly = await get(`/servers/${server}/messages/${full}`).expect(200);
    expect(exactly.body).toMatchObject({ opens: TIMELINE_HITS_SHOWN, truncated: false });
    expect(exactly.body.timeline).toHaveLength(TIMELINE_HITS_SHOWN + 1);
  });

  test('another server\'s message is not found through this server', async () => {
    const res = await get(`/servers/${server}/messages/${encodeURIComponent('<c@platform.example>')}`).expect(404);
    expect(res.body).toEqual({ error: `server ${server} has no message with token or platform id "<c@platform.example>"` });
    await get(`/servers/${other}/messages/${c}`).expect(200);
  });
});

describe('bad requests', () => {
  test('each bad query parameter is named (400)', async () => {
    const res = await get(`/servers/${server}/stats/summary`, { from: 'last week', audience: 'bots', color: 'blue' }).expect(400);
    expect(res.body).toEqual({
      error: 'invalid stats query',
      issues: [
        { field: 'from', message: 'must be a date (2026-11-20, midnight UTC) or a date and time (2026-11-20T09:30:00Z; UTC unless it has an offset)' },
        { field: 'audience', message: 'must be people (machines left out, the default) or all' },
        { field: '(root)', message: 'Unrecognized key: "color"' },
      ],
    });
    const repeated = await request(app).get(`/servers/${server}/stats/links?tag=a&tag=b`).set(auth).expect(400);
    expect(repeated.body.issues).toEqual([{ field: 'tag', message: expect.stringContaining('expected string') }]);
  });

  test('an unknown server is 404, a malformed token 400, and nothing is reachable without the admin token', async () => {
    expect((await get('/servers/AAAAAAAAAAAA/stats/summary').expect(404)).body).toEqual({ error: 'no server with token AAAAAAAAAAAA' });
    await get('/servers/AAAAAAAAAAAA/messages/x').expect(404);
    expect((await get('/servers/not!a!token/stats/tags').expect(400)).body.issues).toEqual([{ field: 'token', message: 'must be a server token' }]);
    await request(app).get(`/servers/${server}/stats/summary`).expect(401);
    await request(app).get(`/servers/${server}/messages/${a}`).expect(401);
  });
});

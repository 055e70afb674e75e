'use strict';
/*
 * npm run bench:console
 *
 * How fast the console's numbers answer on real volumes: a server with BENCH_MESSAGES
 * (2,000,000) messages over BENCH_DAYS (90) days, its opens and clicks, and every rollup the
 * aggregator keeps, seeded straight into PostgreSQL (set-based SQL, not through the queue);
 * then each stats endpoint of the real admin app, over HTTP with the admin token, for ranges of
 * 1, 7, 30 and 90 days, and the console's numbers page in Chromium. The last two lines:
 *
 *   console: first render p95 <ms> ms at <messages> messages
 *   console: p95 <ms> ms over <n> stats queries at <messages> messages
 *
 * Seed (deterministic: setseed(BENCH_SEED)), in a private database mailbeacon_bench_console_<pid>
 * (created and migrated by openDatabase, dropped at the end with `drop database … with (force)`,
 * even on failure or Ctrl-C):
 * - servers: bench-console (the one measured; 3 tracking domains, weighted 60/30/10 %) and 3
 *   others sharing BENCH_OTHER_MESSAGES (300,000) messages, so every query must filter by server;
 * - messages: spread over the hours of the last BENCH_DAYS days (up to the last whole hour) with
 *   a daily rhythm (a morning peak, a smaller evening one, quiet nights) and a weekly one
 *   (weekends at 45 %), ±20 % noise per hour; 20 tags, Zipf-like (≈ 18 % untagged), 1-9 links;
 * - opens: per tag a unique open rate of 25-45 %; of the openers 40 % read with Apple Mail Privacy
 *   Protection (1-2 opens by `Mozilla/5.0` soon after the send: machine, `apple-mpp`), the others
 *   1-4 opens of their own (20 % through Gmail's image proxy: human); 2 % of messages get a
 *   security scanner's open seconds after the send (`scanner-agent`);
 * - clicks: 15 % of people who opened click, 1-3 times, on the message's links (URLs per tag,
 *   link and send day, as campaigns tag them); 1 % of messages with 3+ links are clicked whole by
 *   a link scanner within a second (`burst`), 0.5 % get a HEAD check (`non-get`);
 * - raw `opens`/`clicks` rows in their daily partitions (EventPartitions), then `messages` with
 *   its counters, `link_stats`, `hourly_stats`, `link_daily_stats` and `machine_daily_stats`
 *   derived from the raw rows with the aggregator's counting rules (apps/aggregator/README.md:
 *   a unique open/click in the hour of the message's first one, people's apart, machines per
 *   reason), as the aggregator would have written them after every event arrived. The seed
 *   checks the tables agree (totals of each against the raw rows) and fails otherwise; then
 *   VACUUM ANALYZE (what autovacuum does on a live server: statistics and the visibility map).
 *
 * Measurements (BENCH_ONLY, a comma list; default all, in this order):
 * - stats: the admin app (`node apps/admin/dist/main.js`, its own port and token) is asked, one
 *   request at a time, GET /servers/bench-console/stats/{summary,series,tags,links} for ranges of
 *   1, 7, 30 and 90 whole UTC days ending with today, audience people and all, without and with a
 *   tag filter (the busiest tag): 64 queries, after one warm-up pass (not counted), BENCH_RUNS (5)
 *   times. A query's time is from sending the request to the last byte of the answer. Table:
 *   p50 and p95 per endpoint and range; the last line: p95 over every timed query.
 * - lookup: GET /servers/bench-console/messages/<token> and …/<platform message id> for
 *   BENCH_LOOKUPS (50) messages picked at random, each once (p50, p95; not in the last line).
 * - render: the console's numbers page (packages/console, served by the same admin app) in a real
 *   Chromium (Debian's, through playwright-core, launched as the browser tests launch it). One
 *   login; then for today, 7, 30 and 90 days (people), and 90 days counting everything, the page is
 *   opened BENCH_RENDER_RUNS (10) times, each in a new tab with a fresh navigation (after one
 *   warm-up load, not counted: the browser keeps the hashed scripts cached, as a returning user's
 *   does). A render's time is the page's own: navigation start → its `numbers-rendered` mark (the
 *   numbers and the chart on screen), from the Performance API. Table: p50 and p95 per range,
 *   then where the median load's time goes (the Performance resource timings of its requests:
 *   each one's start and end, so sequential requests show); the line before the last:
 *   `console: first render p95 <ms> ms at <messages> messages`, over every timed render.
 *
 * Environment: BENCH_MESSAGES (2000000), BENCH_OTHER_MESSAGES (300000), BENCH_DAYS (90),
 * BENCH_RUNS (5), BENCH_LOOKUPS (50), BENCH_RENDER_RUNS (10), BENCH_SEED (1), BENCH_ONLY (stats,lookup,render),
 * BENCH_KEEP_DATABASE (1: do not drop the seeded database; its name is printed),
 * BENCH_DATABASE (the name of a database an earlier run kept: measure it without seeding, and
 * keep it), TEST_POSTGRES_URL (where PostgreSQL is; the local default).
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { table, envInteger, measurementsToRun, builtPackage, BenchError, fail, watchChild, stopChild, runCleanups } = require('./support');
const intFromEnv = envInteger('bench:console');

const ROOT = path.resolve(__dirname, '..');
const ADMIN_MAIN = path.join(ROOT, 'apps', 'admin', 'dist', 'main.js');
const DAY_MS = 86_400_000;
const SERVER = 'bench-console';
const RANGES = [1, 7, 30, 90];
const ENDPOINTS = ['summary', 'series', 'tags', 'links'];
const MEASUREMENTS = ['stats', 'lookup', 'render'];
const CONSOLE_BUILD = path.join(ROOT, 'packages', 'console', 'dist', 'index.html');

const TAGS = [
  'newsletter', 'receipt', 'welcome', 'password-reset', 'promo', 'digest', 'abandoned-cart', 'shipping', 'invoice', 'reminder',
  'survey', 'onboarding-2', 'onboarding-3', 'webinar', 'product-update', 'winback', 'birthday', 'referral', 'security-alert', 'trial-ending',
];
const OTHER_SERVERS = ['bench-other-1', 'bench-other-2', 'bench-other-3'];
const PEOPLE_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
];
const GOOGLE_IMAGE_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const SCANNER_AGENT = 'Mozilla/5.0 (compatible; Mimecast URL Protect)';

const quote = (value) => `'${String(value).replaceAll("'", "''")}'`;
const sqlArray = (values) => `array[${values.map(quote).join(', ')}]::text[]`;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const ms = (value) => (value < 10 ? value.toFixed(1) : String(Math.round(value)));

/* ------------------------------------------------------------------ the seed */

/**
 * The seed's statements, in order, each with what it does (printed with its time). `start` is
 * the first day's midnight, `end` the last whole hour (exclusive): no event lies in the future.
 */
function seedStatements({ messages, otherMessages, start, end, seed }) {
  const perOther = Math.floor(otherMessages / OTHER_SERVERS.length);
  const servers = [
    { token: SERVER, messages, domains: ['click.shop.example', 'links.shop.example', 'go.shop.example'] },
    ...OTHER_SERVERS.map((token, i) => ({ token, messages: i === 0 ? otherMessages - perOther * (OTHER_SERVERS.length - 1) : perOther, domains: [`t${i + 1}.other.example`] })),
  ];
  const serverRows = servers.map((s, i) => `(${i}, ${quote(s.token)}, ${s.messages}, ${sqlArray(s.domains)})`).join(', ');
  const hitTime = (offset) => `m.sent_at + ${offset} as at`;
  // Hits are drawn after their send; those falling after the seed's end have not happened yet.
  const pastOnly = (select) => `select * from (${select} offset 0) hit where hit.at < ${quote(end.toISOString())}::timestamptz`;
  return [
    ['settings', `select setseed(${(seed % 1000) / 1000}); set timezone = 'UTC'; set synchronous_commit = off; set work_mem = '256MB'`],
    ['servers, tracking domains', `
      insert into servers (name, token) select initcap(replace(token, '-', ' ')), token from (values ${servers.map((s) => `(${quote(s.token)})`).join(', ')}) v(token);
      insert into tracking_domains (server_id, host, verification_status)
        select s.id, d, 'ok' from (values ${serverRows}) v(i, token, n, domains) join servers s on s.token = v.token, unnest(v.domains) d`],
    ['hours (daily and weekly rhythm)', `
      create unlogged table seed_hours as
      select h, w, coalesce(lag(cum) over (order by h), 0) as before, cum from (
        select h, w, sum(w) over (order by h) as cum from (
          select h, (0.15 + exp(-((extract(hour from h) - 10) ^ 2) / 8) + 0.6 * exp(-((extract(hour from h) - 19) ^ 2) / 6))
                    * (case when extract(isodow from h) >= 6 then 0.45 else 1 end) * (0.8 + 0.4 * random()) as w
          from generate_series(${quote(start.toISOString())}::timestamptz, ${quote(end.toISOString())}::timestamptz - interval '1 hour', interval '1 hour') h
        ) weighted
      ) cumulated`],
    ['messages (their draws)', `
      create unlogged table seed_messages as
      select substr(md5(server || ':' || extract(epoch from h)::bigint || ':' || i), 1, 22) as token, server,
             '<' || server_index || '.' || extract(epoch from h)::bigint || '.' || i || '@mta.bench.example>' as platform_message_id,
             'user' || (i * 7919 + extract(epoch from h)::bigint % 100003) || '@example.com' as recipient,
             (${sqlArray(TAGS)})[tag_index] as tag, domains[case when server_index > 0 then 1 when d < 0.6 then 1 when d < 0.9 then 2 else 3 end] as tracking_domain,
             link_count, sent_at, u_open, u_kind, u_click, u_scan, u_count, open_delay_s,
             0.25 + 0.2 * ((tag_index * 7) % 20) / 19.0 as open_rate
      from (
        -- volatile draws in a subquery of their own: evaluated once per message, however often used above;
        -- each hour's count from its share of the weight (cum / total: exactly 1 for the last hour, so the
        -- counts add up to n exactly; n * cum / total could round to just under n and lose a message)
        select v.i as server_index, v.token as server, v.domains, hr.h, seq as i, random() as d, floor(21 * random() ^ 1.8)::int as tag_index,
               1 + floor(random() * 9)::int as link_count, hr.h + random() * interval '1 hour' as sent_at,
               random() as u_open, random() as u_kind, random() as u_click, random() as u_scan, random() as u_count,
               60 + (-ln(1 - random())) * 14400 as open_delay_s
        from (values ${serverRows}) v(i, token, n, domains)
        cross join seed_hours hr
        cross join lateral generate_series(1, (floor(v.n * (hr.cum / (select max(cum) from seed_hours))) - floor(v.n * (hr.before / (select max(cum) from seed_hours))))::int) seq
      ) drawn`],
    ['opens (people, Apple MPP, scanners)', `
      insert into opens (id, at, message_token, server, ip, user_agent, method, purpose, proxy, machine, machine_reason)
      ${pastOnly(`select gen_random_uuid(), ${hitTime(`make_interval(secs => 30 + random() ^ 2 * 21600 + (n - 1) * 3600)`)}, m.token, m.server,
             '17.58.' || floor(random() * 256)::int || '.0', 'Mozilla/5.0', 'GET', null, 'apple', true, 'apple-mpp'
      from seed_messages m cross join lateral generate_series(1, 1 + floor(m.u_scan * 7)::int % 2) n
      where m.u_open < m.open_rate and m.u_kind < 0.4`)};
      insert into opens (id, at, message_token, server, ip, user_agent, method, purpose, proxy, machine, machine_reason)
      ${pastOnly(`select gen_random_uuid(), ${hitTime(`make_interval(secs => m.open_delay_s * n + (n - 1) * random() * 86400)`)}, m.token, m.server,
             '203.' || (abs(hashtext(m.recipient)) % 256) || '.' || (abs(hashtext(m.token)) % 256) || '.0',
             case when g then ${quote(GOOGLE_IMAGE_PROXY)} else (${sqlArray(PEOPLE_AGENTS)})[1 + abs(hashtext(m.recipient)) % ${PEOPLE_AGENTS.length}] end,
             'GET', null, case when g then 'google' end, false, null
      from seed_messages m cross join lateral (select abs(hashtext(m.recipient)) % 5 = 0 as g) proxy
      cross join lateral generate_series(1, 1 + floor(m.u_count ^ 3 * 4)::int) n
      where m.u_open < m.open_rate and m.u_kind >= 0.4`)};
      insert into opens (id, at, message_token, server, ip, user_agent, method, purpose, proxy, machine, machine_reason)
      ${pastOnly(`select gen_random_uuid(), ${hitTime(`make_interval(secs => 3 + m.u_kind * 30)`)}, m.token, m.server, '198.51.100.0', ${quote(SCANNER_AGENT)},
             'GET', null, null, true, 'scanner-agent'
      from seed_messages m where m.u_scan >= 0.98`)}`],
    ['clicks (people, scanners, HEAD checks)', `
      insert into clicks (id, at, message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason)
      ${pastOnly(`select gen_random_uuid(), ${hitTime(`make_interval(secs => m.open_delay_s + 5 + random() * 600 * n)`)}, m.token, m.server, l.link_index,
             'https://' || split_part(m.tracking_domain, '.', 2) || '.example/' || coalesce(m.tag, 'mail') || '/' || l.link_index || '?utm_campaign=' || to_char(m.sent_at, 'YYYYMMDD'),
             '203.' || (abs(hashtext(m.recipient)) % 256) || '.' || (abs(hashtext(m.token)) % 256) || '.0',
             (${sqlArray(PEOPLE_AGENTS)})[1 + abs(hashtext(m.recipient)) % ${PEOPLE_AGENTS.length}], 'GET', null, false, null
      from seed_messages m cross join lateral generate_series(1, 1 + floor(m.u_count ^ 2 * 3)::int) n
      cross join lateral (select floor(random() * m.link_count)::int as link_index) l
      where m.u_open < m.open_rate and m.u_kind >= 0.4 and m.u_click < 0.15`)};
      insert into clicks (id, at, message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason)
      ${pastOnly(`select gen_random_uuid(), ${hitTime(`make_interval(secs => 30 + m.u_kind * 60 + l * 0.1)`)}, m.token, m.server, l,
             'https://' || split_part(m.tracking_domain, '.', 2) || '.example/' || coalesce(m.tag, 'mail') || '/' || l || '?utm_campaign=' || to_char(m.sent_at, 'YYYYMMDD'),
             '198.51.100.0', ${quote(PEOPLE_AGENTS[0])}, 'GET', null, true, 'burst'
      from seed_messages m cross join lateral generate_series(0, m.link_count - 1) l
      where m.u_scan < 0.01 and m.link_count >= 3`)};
      insert into clicks (id, at, message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason)
      ${pastOnly(`select gen_random_uuid(), ${hitTime(`make_interval(secs => 10 + m.u_kind * 20)`)}, m.token, m.server, 0,
             'https://' || split_part(m.tracking_domain, '.', 2) || '.example/' || coalesce(m.tag, 'mail') || '/0?utm_campaign=' || to_char(m.sent_at, 'YYYYMMDD'),
             '192.0.2.0', 'Mozilla/5.0 (compatible; link checker)', 'HEAD', null, true, 'non-get'
      from seed_messages m where m.u_scan >= 0.01 and m.u_scan < 0.015`)}`],
    ['messages (with their counters)', `
      insert into messages (token, server, platform_message_id, recipient, tag, tracking_domain, link_count, pixel, sent_at,
                            opens, human_opens, clicks, human_clicks, first_opened_at, last_opened_at, first_human_opened_at,
                            first_clicked_at, last_clicked_at, first_human_clicked_at)
      select m.token, m.server, m.platform_message_id, m.recipient, m.tag, m.tracking_domain, m.link_count, true, m.sent_at,
             coalesce(o.n, 0), coalesce(o.human, 0), coalesce(c.n, 0), coalesce(c.human, 0), o.first, o.last, o.first_human,
             c.first, c.last, c.first_human
      from seed_messages m
      left join (select message_token, count(*) as n, count(*) filter (where not machine) as human, min(at) as first, max(at) as last,
                        min(at) filter (where not machine) as first_human
                 from opens group by 1) o on o.message_token = m.token
      left join (select message_token, count(*) as n, count(*) filter (where not machine) as human, min(at) as first, max(at) as last,
                        min(at) filter (where not machine) as first_human
                 from clicks group by 1) c on c.message_token = m.token`],
    ['link_stats', `
      insert into link_stats (message_token, link_index, url, clicks, human_clicks, first_clicked_at, last_clicked_at)
      select message_token, link_index, min(url), count(*), count(*) filter (where not machine), min(at), max(at)
      from clicks group by 1, 2`],
    ['hourly_stats', `
      insert into hourly_stats (server, tracking_domain, tag, hour, messages, opens, unique_opens, clicks, unique_clicks,
                                human_opens, human_unique_opens, human_clicks, human_unique_clicks)
      select server, tracking_domain, tag, hour, sum(messages), sum(opens), sum(unique_opens), sum(clicks), sum(unique_clicks),
             sum(human_opens), sum(human_unique_opens), sum(human_clicks), sum(human_unique_clicks)
      from (
        select m.server, m.tracking_domain, coalesce(m.tag, '') as tag, date_trunc('hour', x.at) as hour,
               x.messages, x.opens, x.unique_opens, x.clicks, x.unique_clicks, x.human_opens, x.human_unique_opens, x.human_clicks, x.human_unique_clicks
        from messages m cross join lateral (values
          (m.sent_at, 1, 0, 0, 0, 0, 0, 0, 0, 0),
          (m.first_opened_at, 0, 0, 1, 0, 0, 0, 0, 0, 0),
          (m.first_human_opened_at, 0, 0, 0, 0, 0, 0, 1, 0, 0),
          (m.first_clicked_at, 0, 0, 0, 0, 1, 0, 0, 0, 0),
          (m.first_human_clicked_at, 0, 0, 0, 0, 0, 0, 0, 0, 1)
        ) x(at, messages, opens, unique_opens, clicks, unique_clicks, human_opens, human_unique_opens, human_clicks, human_unique_clicks)
        where x.at is not null
        union all
        select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('hour', o.at), 0, 1, 0, 0, 0, (not o.machine)::int, 0, 0, 0
        from opens o join messages m on m.token = o.message_token
        union all
        select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('hour', c.at), 0, 0, 0, 1, 0, 0, 0, (not c.machine)::int, 0
        from clicks c join messages m on m.token = c.message_token
      ) facts
      group by 1, 2, 3, 4`],
    ['link_daily_stats', `
      insert into link_daily_stats (server, tracking_domain, tag, day, url_md5, url, clicks, human_clicks)
      select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('day', c.at, 'UTC'), md5(c.url)::uuid, min(c.url),
             count(*), count(*) filter (where not c.machine)
      from clicks c join messages m on m.token = c.message_token
      group by 1, 2, 3, 4, 5`],
    ['machine_daily_stats', `
      insert into machine_daily_stats (server, tracking_domain, tag, day, kind, reason, hits)
      select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('day', e.at, 'UTC'), e.kind, e.machine_reason, count(*)
      from (select message_token, at, machine_reason, 'open' as kind from opens where machine
            union all
            select message_token, at, machine_reason, 'click' from clicks where machine) e
      join messages m on m.token = e.message_token
      group by 1, 2, 3, 4, 5, 6`],
    ['drop the draws', 'drop table seed_messages; drop table seed_hours'],
  ];
}

/** Every table against the raw rows: what the aggregator's tables must agree on. */
const CONSISTENCY_SQL = `
  select (select count(*) from opens) as raw_opens, (select count(*) from clicks) as raw_clicks,
         (select count(*) from opens where not machine) as raw_human_opens, (select count(*) from clicks where not machine) as raw_human_clicks,
         (select count(*) from messages) as messages,
         (select sum(opens) from messages) as message_opens, (select sum(clicks) from messages) as message_clicks,
         (select sum(clicks) from link_stats) as link_clicks, (select sum(human_clicks) from link_stats) as link_human_clicks,
         (select sum(messages) from hourly_stats) as hourly_messages, (select sum(opens) from hourly_stats) as hourly_opens,
         (select sum(clicks) from hourly_stats) as hourly_clicks, (select sum(human_opens) from hourly_stats) as hourly_human_opens,
         (select sum(human_clicks) from hourly_stats) as hourly_human_clicks,
         (select sum(unique_opens) from hourly_stats) as hourly_unique_opens, (select count(*) from messages where opens > 0) as opened,
         (select sum(human_unique_clicks) from hourly_stats) as hourly_human_unique_clicks,
         (select count(*) from messages where human_clicks > 0) as human_clicked,
         (select sum(clicks) from link_daily_stats) as link_daily_clicks, (select sum(human_clicks) from link_daily_stats) as link_daily_human_clicks,
         (select sum(hits) from machine_daily_stats where kind = 'open') as machine_opens,
         (select sum(hits) from machine_daily_stats where kind = 'click') as machine_clicks`;

function checkConsistency(row, expectedMessages) {
  const n = Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]));
  const rules = [
    ['messages', n.messages, expectedMessages],
    ['messages.opens', n.message_opens, n.raw_opens],
    ['messages.clicks', n.message_clicks, n.raw_clicks],
    ['link_stats.clicks', n.link_clicks, n.raw_clicks],
    ['link_stats.human_clicks', n.link_human_clicks, n.raw_human_clicks],
    ['hourly_stats.messages', n.hourly_messages, n.messages],
    ['hourly_stats.opens', n.hourly_opens, n.raw_opens],
    ['hourly_stats.clicks', n.hourly_clicks, n.raw_clicks],
    ['hourly_stats.human_opens', n.hourly_human_opens, n.raw_human_opens],
    ['hourly_stats.human_clicks', n.hourly_human_clicks, n.raw_human_clicks],
    ['hourly_stats.unique_opens', n.hourly_unique_opens, n.opened],
    ['hourly_stats.human_unique_clicks', n.hourly_human_unique_clicks, n.human_clicked],
    ['link_daily_stats.clicks', n.link_daily_clicks, n.raw_clicks],
    ['link_daily_stats.human_clicks', n.link_daily_human_clicks, n.raw_human_clicks],
    ['machine opens by reason', n.machine_opens, n.raw_opens - n.raw_human_opens],
    ['machine clicks by reason', n.machine_clicks, n.raw_clicks - n.raw_human_clicks],
  ];
  const wrong = rules.filter(([, got, want]) => got !== want).map(([name, got, want]) => `${name} ${got}, expected ${want}`);
  if (wrong.length) fail(`the seeded tables disagree:\n  ${wrong.join('\n  ')}`);
  return n;
}

/* ------------------------------------------------------------------ the measurements */

async function timedGet(baseUrl, adminToken, pathAndQuery) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${adminToken}` } });
  const body = await response.text();
  const elapsed = performance.now() - started;
  if (response.status !== 200) fail(`GET ${pathAndQuery}: ${response.status} ${body.slice(0, 500)}`);
  return { elapsed, body };
}

/** The stats queries: every endpoint, range, audience and tag filter. */
function statsQueries(tomorrow, tag) {
  const queries = [];
  for (const endpoint of ENDPOINTS) {
    for (const days of RANGES) {
      for (const audience of ['people', 'all']) {
        for (const filter of [undefined, tag]) {
          const params = new URLSearchParams({ from: new Date(tomorrow - days * DAY_MS).toISOString().slice(0, 10), to: new Date(tomorrow).toISOString().slice(0, 10), audience });
          if (filter !== undefined) params.set('tag', filter);
          queries.push({ endpoint, days, path: `/servers/${SERVER}/stats/${endpoint}?${params}` });
        }
      }
    }
  }
  return queries;
}

async function measureStats({ baseUrl, adminToken, tomorrow, tag, runs }) {
  const queries = statsQueries(tomorrow, tag);
  for (const query of queries) await timedGet(baseUrl, adminToken, query.path); // warm-up, not counted
  const times = new Map(queries.map((query) => [query, []]));
  for (let run = 0; run < runs; run++) {
    for (const query of queries) times.get(query).push((await timedGet(baseUrl, adminToken, query.path)).elapsed);
  }
  const all = [...times.values()].flat();
  const rows = [['endpoint', ...RANGES.flatMap((days) => [`${days}d p50`, `${days}d p95`])]];
  for (const endpoint of ENDPOINTS) {
    const cells = RANGES.flatMap((days) => {
      const values = queries.filter((q) => q.endpoint === endpoint && q.days === days).flatMap((q) => times.get(q));
      return [ms(percentile(values, 50)), ms(percentile(values, 95))];
    });
    rows.push([endpoint, ...cells]);
  }
  const slowest = [...times].map(([query, values]) => ({ path: query.path, p95: percentile(values, 95) })).sort((a, b) => b.p95 - a.p95).slice(0, 5);
  return { all, table: rows, slowest };
}

async function measureLookups({ baseUrl, adminToken, client, lookups }) {
  const picked = await client.query(
    `select token, platform_message_id from messages where server = $1 and token >= $2 order by token limit $3`,
    [SERVER, crypto.randomBytes(4).toString('hex'), lookups],
  );
  const byToken = [];
  const byPlatformId = [];
  for (const row of picked.rows) {
    byToken.push((await timedGet(baseUrl, adminToken, `/servers/${SERVER}/messages/${encodeURIComponent(row.token)}`)).elapsed);
    byPlatformId.push((await timedGet(baseUrl, adminToken, `/servers/${SERVER}/messages/${encodeURIComponent(row.platform_message_id)}`)).elapsed);
  }
  return { byToken, byPlatformId };
}

/** The numbers page's views timed in Chromium: the fragment's query (numbers-view.ts) for each. */
function renderViews(tomorrow) {
  const ninetyDays = `from=${new Date(tomorrow - 90 * DAY_MS).toISOString().slice(0, 10)}&to=${new Date(tomorrow - DAY_MS).toISOString().slice(0, 10)}`;
  return [
    { label: 'today, people', query: 'range=today' },
    { label: '7 days, people', query: 'range=7d' },
    { label: '30 days, people', query: 'range=30d' },
    { label: '90 days, people', query: ninetyDays },
    { label: '90 days, everything', query: `${ninetyDays}&audience=all` },
  ];
}

/**
 * One fresh load of a numbers view in a new tab of the logged-in `context`: navigation start →
 * the page's `numbers-rendered` mark, and every request the page made (Performance API, ms from
 * navigation start). A page that shows an error or "no mail" instead of the numbers stops the bench.
 */
async function renderOnce(context, baseUrl, view) {
  const page = await context.newPage();
  try {
    await page.goto(`${baseUrl}/console/#/servers/${SERVER}/numbers?${view.query}`);
    const problemSelector = '.state-error, .empty-state, .banner-error';
    await page.waitForFunction((problem) => performance.getEntriesByName('numbers-rendered').length > 0 || document.querySelector(problem) !== null, problemSelector, { timeout: 60_000 });
    const seen = await page.evaluate((problem) => {
      const navigation = performance.getEntriesByType('navigation')[0];
      return {
        rendered: performance.getEntriesByName('numbers-rendered')[0]?.startTime,
        problem: document.querySelector(problem)?.textContent,
        requests: [
          { name: 'the page (document)', start: navigation.requestStart, end: navigation.responseEnd },
          ...performance.getEntriesByType('resource').map((entry) => ({ name: new URL(entry.name).pathname, start: entry.startTime, end: entry.responseEnd })),
          { name: 'DOMContentLoaded', start: navigation.domContentLoadedEventStart, end: navigation.domContentLoadedEventEnd },
        ],
      };
    }, problemSelector);
    if (seen.rendered === undefined) fail(`the numbers page (${view.label}) shows "${seen.problem}" instead of the numbers${/no mail/i.test(seen.problem) ? ' (a database seeded on an earlier day has no mail today: seed again)' : ''}`);
    return seen;
  } finally {
    await page.close();
  }
}

async function measureRender({ baseUrl, adminToken, tomorrow, runs, check }) {
  const { launchChromium, logInToConsole, CONSOLE_VIEWPORTS } = builtPackage('testing');
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: CONSOLE_VIEWPORTS.laptop });
    const login = await context.newPage();
    await logInToConsole(login, `${baseUrl}/console/`, adminToken);
    await login.close();
    const views = renderViews(tomorrow);
    await renderOnce(context, baseUrl, views[0]); // warm-up, not counted: the scripts in the browser's cache
    const results = [];
    for (const view of views) {
      const loads = [];
      for (let run = 0; run < runs; run++) {
        check();
        loads.push(await renderOnce(context, baseUrl, view));
      }
      results.push({ view, loads, times: loads.map((load) => load.rendered) });
    }
    return results;
  } finally {
    await browser.close();
  }
}

/** Where one load's time went: each request's start → end, in the order they started, then the mark. */
function renderBreakdown(load) {
  const apiPrefix = `/console/api/servers/${SERVER}/`;
  const rows = [...load.requests]
    .sort((a, b) => a.start - b.start)
    .map((request) => [request.name.startsWith(apiPrefix) ? `api ${request.name.slice(apiPrefix.length)}` : request.name, ms(request.start), ms(request.end), ms(request.end - request.start)]);
  return table([['request', 'start', 'end', 'took'], ...rows, ['numbers-rendered', ms(load.rendered), '', '']]);
}

/* ------------------------------------------------------------------ main */

async function main() {
  const messages = intFromEnv('BENCH_MESSAGES', 2_000_000, 1);
  const otherMessages = intFromEnv('BENCH_OTHER_MESSAGES', 300_000, 0);
  const days = intFromEnv('BENCH_DAYS', 90, 1);
  const runs = intFromEnv('BENCH_RUNS', 5, 1);
  const lookups = intFromEnv('BENCH_LOOKUPS', 50, 1);
  const renderRuns = intFromEnv('BENCH_RENDER_RUNS', 10, 1);
  const seed = intFromEnv('BENCH_SEED', 1, 0);
  const keep = intFromEnv('BENCH_KEEP_DATABASE', 0, 0) > 0;
  const reused = process.env.BENCH_DATABASE || undefined;
  const only = measurementsToRun('bench:console', MEASUREMENTS);
  if (reused !== undefined && !/^[a-z0-9_]+$/.test(reused)) {
    console.error(`bench:console: BENCH_DATABASE must be a database name (a-z, 0-9, _), got ${JSON.stringify(reused)}`);
    process.exit(2);
  }

  const load = builtPackage;
  const { openDatabase, EventPartitions } = load('db');
  const { dropDatabase, freePort, TEST_POSTGRES_URL } = load('testing');
  if (!fs.existsSync(ADMIN_MAIN)) fail(`${path.relative(ROOT, ADMIN_MAIN)} is missing; build first: npx tsc -b`);
  if (only.has('render') && !fs.existsSync(CONSOLE_BUILD)) fail(`${path.relative(ROOT, CONSOLE_BUILD)} is missing; build the console first: npm run build`);
  const pg = require('pg');

  const cleanups = [];
  const children = new Set();
  process.on('exit', () => {
    for (const state of children) state.child.kill('SIGKILL');
  });
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench:console: ${signal}: cleaning up`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) fail('interrupted');
  };

  let problems = [];
  try {
    const name = reused ?? `mailbeacon_bench_console_${process.pid}`;
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    if (!keep && !reused) cleanups.push(() => dropDatabase(name));
    const db = await openDatabase(url.toString(), { maxConnections: 2 });
    cleanups.push(() => db.destroy());
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    cleanups.push(() => client.end());

    const now = Date.now();
    const end = new Date(Math.floor(now / 3_600_000) * 3_600_000);
    const start = new Date(Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS);
    const tomorrow = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;

    console.log(`bench:console: database ${name}${reused ? ' (reused, not seeded)' : ''}`);
    if (!reused) {
      console.log(`seeding ${messages.toLocaleString('en')} messages of ${SERVER} (+ ${otherMessages.toLocaleString('en')} of ${OTHER_SERVERS.length} other servers) over ${days} days, ${start.toISOString().slice(0, 10)} to ${end.toISOString()}`);
      const seedStarted = performance.now();
      const steps = [];
      let stepStarted = performance.now();
      await new EventPartitions(db).ensure(Array.from({ length: days }, (_, i) => start.getTime() + i * DAY_MS));
      steps.push(['partitions', performance.now() - stepStarted]);
      for (const [label, statement] of seedStatements({ messages, otherMessages, start, end, seed })) {
        check();
        stepStarted = performance.now();
        await client.query(statement);
        steps.push([label, performance.now() - stepStarted]);
      }
      stepStarted = performance.now();
      const counts = checkConsistency((await client.query(CONSISTENCY_SQL)).rows[0], messages + otherMessages);
      steps.push(['consistency check', performance.now() - stepStarted]);
      stepStarted = performance.now();
      await client.query('vacuum analyze');
      steps.push(['vacuum analyze', performance.now() - stepStarted]);
      const seedSeconds = (performance.now() - seedStarted) / 1000;
      console.log(table([['seed step', 's'], ...steps.map(([label, elapsed]) => [label, (elapsed / 1000).toFixed(1)])]));
      const share = (part, whole) => `${((100 * part) / whole).toFixed(1)} %`;
      console.log(
        `seeded in ${seedSeconds.toFixed(0)} s: ${counts.messages.toLocaleString('en')} messages, ${counts.raw_opens.toLocaleString('en')} opens ` +
          `(${share(counts.raw_opens - counts.raw_human_opens, counts.raw_opens)} machine), ${counts.raw_clicks.toLocaleString('en')} clicks ` +
          `(${share(counts.raw_clicks - counts.raw_human_clicks, counts.raw_clicks)} machine); unique opens ${share(counts.opened, counts.messages)}, ` +
          `people's unique clicks ${share(counts.human_clicked, counts.messages)}`,
      );
    }
    const sizes = await client.query(`
      select relname as name, to_char(reltuples, 'FM999,999,999') as rows, pg_size_pretty(pg_total_relation_size(oid)) as size
      from pg_class where relkind = 'r' and relnamespace = current_schema()::regnamespace
        and relname in ('messages', 'link_stats', 'hourly_stats', 'link_daily_stats', 'machine_daily_stats')
      order by relname`);
    console.log(table([['table', 'rows', 'size'], ...sizes.rows.map((row) => [row.name, row.rows, row.size])]));
    const measured = Number((await client.query('select count(*) as n from messages where server = $1', [SERVER])).rows[0].n);
    const busiest = await client.query(`select tag from hourly_stats where server = $1 and tag <> '' group by tag order by sum(messages) desc limit 1`, [SERVER]);
    const tag = busiest.rows[0]?.tag;
    if (!tag) fail(`the database holds no tagged mail of ${SERVER}: seed it (leave BENCH_DATABASE unset)`);

    const adminToken = crypto.randomBytes(24).toString('base64url');
    const port = await freePort();
    const admin = watchChild(
      spawn(process.execPath, [ADMIN_MAIN], {
        env: { ...process.env, ADMIN_PORT: String(port), ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      { name: 'admin', children },
    );
    cleanups.push(async () => {
      const exited = await stopChild(admin, 10_000);
      if (exited.code !== 0) throw new Error(`the admin app did not stop cleanly (exit code ${exited.code}, signal ${exited.signal})\n${admin.describe()}`);
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    // Ready when it answers: it logs nothing at warn when all is well.
    for (;;) {
      check();
      if (admin.exited) fail(`the admin app exited before answering\n${admin.describe()}`);
      const ok = await fetch(`${baseUrl}/healthz`).then((response) => response.ok, () => false);
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    let stats;
    if (only.has('stats')) {
      stats = await measureStats({ baseUrl, adminToken, tomorrow, tag, runs });
      console.log(`\nstats endpoints, ms (request to last byte; ${runs} runs × people/all × without/with tag=${tag}):`);
      console.log(table(stats.table));
      console.log(`slowest queries (p95): ${stats.slowest.map((q) => `${ms(q.p95)} ms ${q.path}`).join('\n  ')}`);
    }
    if (only.has('lookup')) {
      check();
      const found = await measureLookups({ baseUrl, adminToken, client, lookups });
      console.log(`\nmessage lookup, ms (${found.byToken.length} messages):`);
      console.log(
        table([
          ['by', 'p50', 'p95'],
          ['token', ms(percentile(found.byToken, 50)), ms(percentile(found.byToken, 95))],
          ['platform id', ms(percentile(found.byPlatformId, 50)), ms(percentile(found.byPlatformId, 95))],
        ]),
      );
    }
    let render;
    if (only.has('render')) {
      check();
      render = await measureRender({ baseUrl, adminToken, tomorrow, runs: renderRuns, check });
      console.log(`\nthe numbers page in Chromium, ms (navigation start → numbers-rendered; ${renderRuns} fresh loads each):`);
      console.log(table([['range', 'p50', 'p95'], ...render.map((r) => [r.view.label, ms(percentile(r.times, 50)), ms(percentile(r.times, 95))])]));
      const slowest = render.reduce((a, b) => (percentile(b.times, 95) > percentile(a.times, 95) ? b : a));
      const median = slowest.loads.find((load) => load.rendered === percentile(slowest.times, 50));
      console.log(`where the median load of the slowest (${slowest.view.label}) goes, ms from navigation start:`);
      console.log(renderBreakdown(median));
    }
    if (keep || reused) console.log(`\nkept database ${name} (BENCH_DATABASE=${name} measures it again; drop it with: psql -c 'drop database ${name}')`);
    if (render) console.log(`\nconsole: first render p95 ${ms(percentile(render.flatMap((r) => r.times), 95))} ms at ${measured.toLocaleString('en')} messages`);
    if (stats) console.log(`${render ? '' : '\n'}console: p95 ${ms(percentile(stats.all, 95))} ms over ${stats.all.length} stats queries at ${measured.toLocaleString('en')} messages`);
  } finally {
    problems = await runCleanups(cleanups);
  }
  if (problems.length) fail(`cleanup: ${problems.join('; ')}`);
}

main().catch((error) => {
  console.error(`bench:console: ${error instanceof BenchError ? error.message : error && error.stack ? error.stack : error}`);
  process.exit(1);
});

'use strict';
/*
 * npm run bench:aggregator
 *
 * Events/s the running aggregator stores (tracking-events queue → PostgreSQL), the same for a
 * naive per-event consumer written here as the baseline, how far the statistics lag behind a
 * steady stream of events, and the ceiling BullMQ itself sets (the same queue drained by a worker
 * that does nothing). Last line:
 *
 *   aggregator: <n> events/s, ratio to per-event <r>, lag p99 <ms> ms at <rate> events/s
 *
 * (`n/a` in place of a figure whose measurement was left out with BENCH_ONLY.)
 *
 * Aggregator: the real process, `node apps/aggregator/dist/main.js`, with REDIS_URL
 * (TEST_REDIS_URL, default the local 6379), DATABASE_URL, QUEUE_PREFIX, QUEUE_TRACKING_EVENTS and
 * LOG_LEVEL=info set here (info is only a few lines: started, stopping, stopped with its totals,
 * which give the batches written); anything else comes from this process's environment, so
 * AGGREGATOR_BATCH_SIZE, AGGREGATOR_BATCH_WAIT_MS... can be tuned from the command line (the
 * settings in effect are printed, as the aggregator's own config loader reads them). It is
 * stopped with SIGTERM after each measurement and must exit 0.
 *
 * Isolation: every measurement has a database of its own, mailbeacon_bench_<pid>_<n> (created and
 * migrated by openDatabase, dropped at the end with `drop database ... with (force)`, even on
 * failure) and a BullMQ prefix of its own, mbbench-aggregator-<pid>-<n> (every key under it
 * deleted at the end), so no run ever sees another's data. Ctrl-C stops the processes and cleans
 * up too.
 *
 * Workload (deterministic: a seeded PRNG, BENCH_SEED; ids are uuid v7 built from the event's time
 * and PRNG bytes): BENCH_MESSAGES messages, one `message` event each (3 servers, 4 tracking
 * domains, some tags, 1-8 links, sent 5-30 minutes ago), then hits up to BENCH_EVENTS events in
 * all, sorted by time as real traffic arrives: ~60 % opens, ~40 % clicks, each at a random time
 * between its message's send time + 60 s and now (so the early-click rule never fires for an
 * ordinary click). Agents as in real traffic: mostly browsers and mail clients (the recipient's
 * own agent and /24), ~10 % of hits Apple MPP opens (User-Agent exactly `Mozilla/5.0`), ~5 %
 * GoogleImageProxy opens, ~3 % bots (curl, python-requests, Googlebot...), ~2 % HEAD clicks
 * (link scanners); IPs spread over 4,096 /24s. A few bursts (0.2 % of click slots): 3-5 distinct
 * links of one message from one IP within one second. The generator's counts of open and click
 * events are the expected totals. The machine opens and clicks are predicted too, for the sanity
 * line: classifyHit on each open; for clicks classifyClick with the request, the timing rule
 * and findClickBursts over each message's clicks (the aggregator's settings), the whole stream
 * at once (what the aggregator's batches must converge to).
 *
 * 1. Batched (the real aggregator): the whole stream is added to the queue first (addBulk in
 *    chunks of BENCH_CHUNK, message events first, job name = event type, job id =
 *    jobIdForEvent(event.id), options TRACKING_EVENT_JOB_OPTIONS), nothing consuming it; then the
 *    aggregator process starts, and this process polls every BENCH_POLL_MS (50) ms until every
 *    event is stored. What is polled: `select coalesce(sum(messages + opens + clicks), 0) from
 *    hourly_stats` (a few dozen rows, written in the same transaction as the raw rows); when it
 *    reaches the total, the stored rows
 *      select (select count(*) from opens) + (select count(*) from clicks)
 *           + (select count(*) from messages where platform_message_id is not null)
 *    must equal it too, at that moment (otherwise polling goes on with that row count, and the
 *    disagreement is reported). Polling the row count itself all along would cost Postgres a scan
 *    of the raw tables every 50 ms (8-20 ms of CPU each at 50,000-200,000 rows: a fifth of a core
 *    or more, on the same cores as the aggregator). events/s = the events stored after the first
 *    poll that saw anything / the time from that poll to the one that saw everything (the
 *    process's start-up, about a second of Node, migration check and connections, and its first
 *    batch are left out that way; the figure counted from the spawn is shown too). Then the run
 *    is checked exactly: hourly_stats sum(opens), sum(clicks)
 *    and sum(messages) against the events generated, count(*) of messages = messages generated
 *    (all known), messages' sum(opens) and sum(clicks), link_stats sum(clicks), the raw rows,
 *    every job completed and none failed; any difference fails the bench (exit 1).
 *
 * 2. Per event (the baseline): a BullMQ Worker in this process (concurrency 16, pg Pool max 16)
 *    that validates each job with parseTrackingEvent and runs one transaction per event, with
 *    prepared statements: a message event upserts its messages row and, if new, adds 1 to
 *    hourly_stats.messages; an open or click inserts its raw row (`on conflict do nothing
 *    returning id`) and, if inserted, updates the message's counters (+1, human +1 unless
 *    classifyHit says machine, first/last times), upserts link_stats (clicks) and hourly_stats
 *    (+1, human +1) for the message's server, tracking domain, tag and hour. (A hit whose message
 *    event is still in flight in another transaction rolls back and tries again 5 ms later.) The
 *    day partitions are made first (EventPartitions.ensure). It gets the same generator's stream
 *    scaled down to BENCH_NAIVE_EVENTS events (messages in the same proportion, so the mix is the
 *    same), preloaded and timed the same way, and checked the same way (hourly_stats and messages
 *    sums). ratio = batched events/s / per-event events/s.
 *
 * 3. Lag: a fresh database and prefix, the aggregator process running. First BENCH_LAG_MESSAGES
 *    message events are published and stored (waited for). Then opens and clicks from the same
 *    generator (their `at` = the publish time, fresh uuid v7 ids) are published at a steady
 *    BENCH_LAG_RATE events/s for BENCH_LAG_SECONDS: every 10 ms the events due so far are added
 *    with one addBulk, each chunk's publish time (just before addBulk) and cumulative count noted.
 *    Meanwhile a pg client of its own polls `select coalesce(sum(opens + clicks), 0) from
 *    hourly_stats` every 10 ms (the time of a poll is when it was sent: Postgres takes its
 *    snapshot just after). A chunk's lag = the time of the first poll whose total reaches the
 *    chunk's cumulative count − the chunk's publish time; p50 and p99 over the chunks. The
 *    achieved publish rate is shown, with how late against the schedule the chunks went out;
 *    a note says so if publishing fell behind (the lag is still measured from each chunk's own
 *    publish time), and another if the aggregator did not keep up (more than a second's events
 *    still missing from hourly_stats when publishing ended: the lag then measures a growing
 *    backlog). Totals are checked at the end (hourly_stats = events published).
 *
 * 4. Queue ceiling (BullMQ alone, nothing written): the same stream as 1 (same generator, job ids
 *    and options; BENCH_CEILING_EVENTS events, by default BENCH_EVENTS, which reuses 1's stream;
 *    a different count scales the messages as in 2), preloaded the same way under a fresh prefix,
 *    then drained by a BullMQ Worker that does nothing with the events (its processor returns at
 *    once, validating nothing) in a process of its own, like the aggregator's:
 *    `node --max-semi-space-size=64 -e <script>`, bullmq and ioredis required from the repo root's
 *    node_modules, one ioredis connection as the aggregator has, and the aggregator's own worker
 *    settings from its config loader: concurrency (AGGREGATOR_WRITERS + 1) × AGGREGATOR_BATCH_SIZE
 *    (3 × 1000 by default), lockDuration LOCK_DURATION_MS, stalledInterval STALLED_INTERVAL_MS,
 *    maxStalledCount MAX_STALLED_COUNT. This process polls getJobCounts('completed') every
 *    BENCH_POLL_MS; events/s = the jobs completed after the first poll that saw one / the time from
 *    that poll to the one that saw them all (start-up left out as in 1; the figure from the spawn
 *    is shown too). Checked: every job completed, none failed, and the worker process exits 0 on
 *    SIGTERM. Under the table: batched events/s as a % of this ceiling, what is left for the
 *    aggregator's own work (validation, batching, PostgreSQL) to cost.
 *
 * BENCH_ONLY (a comma list of batched, naive, lag, ceiling; default all of them) runs only those
 * measurements, in the order above; the figures of the others are left out of the tables and are
 * `n/a` on the last line. The stream of 1 is generated only when a measurement uses it.
 *
 * CPU: for each measurement's window, the CPU used by the aggregator process (in 4., the no-op
 * worker's process instead; /proc), the PostgreSQL backends connected to the bench database
 * (pg_stat_activity + /proc; 4. has no database), every PostgreSQL process (background ones and
 * other users' backends too: /proc), redis-server (INFO cpu), this process and the whole machine
 * (/proc/stat), as % of one core (Linux; blank elsewhere): the machine is shared, so "other" shows
 * whatever else ran meanwhile.
 *
 * Machine share: human and machine opens and clicks from hourly_stats of measurement 1, a sanity
 * line, with the predicted figures next to them (a line starting `odd:` when they differ).
 *
 * Environment: BENCH_MESSAGES (10000), BENCH_EVENTS (200000, message events included),
 * BENCH_NAIVE_EVENTS (20000, message events included), BENCH_LAG_MESSAGES (2000),
 * BENCH_LAG_RATE (5000), BENCH_LAG_SECONDS (20), BENCH_CHUNK (1000: events per addBulk when
 * preloading), BENCH_SEED (1), BENCH_POLL_MS (50: the progress poll of 1, 2 and 4),
 * BENCH_STALL_SECONDS (60: give up when the stored (in 4., completed) count does not grow for this long),
 * BENCH_CEILING_EVENTS (BENCH_EVENTS: the stream of 4), BENCH_ONLY (all: see above),
 * TEST_POSTGRES_URL and TEST_REDIS_URL (where Postgres and Redis are; local defaults), and the
 * aggregator's own variables.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { table, sleep, envInteger, measurementsToRun, builtPackage, BenchError, fail, watchChild, stopChild, runCleanups } = require('./support');
const intFromEnv = envInteger('bench:aggregator');

const ROOT = path.resolve(__dirname, '..');
const AGGREGATOR_MAIN = path.join(ROOT, 'apps', 'aggregator', 'dist', 'main.js');
const LAG_TICK_MS = 10;
const LAG_POLL_MS = 10;
const NAIVE_CONCURRENCY = 16;
const HOUR_MS = 3_600_000;

/** Every event stored so far, counted in the rows (measurements 1 and 2). */
const STORED_SQL = `select (select count(*) from opens) + (select count(*) from clicks)
  + (select count(*) from messages where platform_message_id is not null) as n`;
/** The same, from the aggregated table written in the same transactions: a cheap query to poll. */
const PROGRESS_SQL = 'select coalesce(sum(messages + opens + clicks), 0) as n from hourly_stats';

/* ------------------------------------------------------------------ the event stream */

/** sfc32: a small, fast, seedable PRNG; numbers in [0, 1). */
function prng(seed) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

const SERVERS = [
  { server: 'bench-shop', domains: ['click.shop.example'], weight: 0.5 },
  { server: 'bench-news', domains: ['links.news.example', 'go.news.example'], weight: 0.35 },
  { server: 'bench-app', domains: ['t.app.example'], weight: 0.15 },
];
const TAGS = [undefined, undefined, 'newsletter', 'receipt', 'welcome'];
/** People's agents: browsers and mail clients (classifyHit: human). */
const PEOPLE_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
  'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0 Thunderbird/115.10.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
];
const APPLE_MPP = 'Mozilla/5.0';
const GOOGLE_IMAGE_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const BOT_AGENTS = ['curl/8.5.0', 'python-requests/2.31.0', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Go-http-client/1.1'];
/** A scanner clicking every link of a message presents a browser's agent (only the burst gives it away). */
const SCANNER_AGENT = PEOPLE_AGENTS[0];
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/**
 * `messages` message events, then hits up to `events` events in all, sorted by time (see the
 * header). Returns the events and what the aggregator must end up with.
 */
function generateStream({ seed, messages, events, now, label, v7 }) {
  const rand = prng(seed);
  const int = (n) => Math.floor(rand() * n);
  const pick = (list) => list[int(list.length)];
  const bytes16 = () => {
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = int(256);
    return out;
  };
  const uuid = (ms) => v7({ msecs: ms, random: bytes16() });
  /** 4,096 /24s spread over the address space; any host in them. */
  const ip24 = () => {
    const n = int(4096);
    return `${11 + (n >> 6)}.${(n * 37) & 255}.${(n * 101 + 7) & 255}`;
  };
  const ip = () => `${ip24()}.${1 + int(254)}`;

  const msgs = [];
  const messageEvents = [];
  for (let i = 0; i < messages; i++) {
    const r = rand();
    const s = r < SERVERS[0].weight ? SERVERS[0] : r < SERVERS[0].weight + SERVERS[1].weight ? SERVERS[1] : SERVERS[2];
    let token = `${label}`;
    while (token.length < 22) token += TOKEN_ALPHABET[int(64)];
    const sentAt = now - 300_000 - int(1_500_000);
    const linkCount = 1 + int(8);
    const links = Array.from({ length: linkCount }, (_, index) => ({ index, url: `https://www.${s.server}.example/p/${i}/${index}?utm_source=mail&utm_campaign=${label}` }));
    const tag = pick(TAGS);
    const event = {
      type: 'message',
      id: uuid(sentAt),
      messageToken: token,
      server: s.server,
      platformMessageId: `<bench.${label}.${i}@mail.${s.server}.example>`,
      recipient: `reader${i}@example.org`,
      ...(tag === undefined ? {} : { tag }),
      trackingDomain: pick(s.domains),
      links,
      pixel: rand() < 0.95,
      at: new Date(sentAt).toISOString(),
    };
    messageEvents.push(event);
    msgs.push({ event, sentAt, agent: pick(PEOPLE_AGENTS), ip: ip() });
  }

  const hits = [];
  const expected = { messages, opens: 0, clicks: 0, bursts: 0, burstClicks: 0, headClicks: 0, mppOpens: 0, proxyOpens: 0, botHits: 0 };
  const hitCount = events - messages;
  const base = (m, atMs) => ({ server: m.event.server, messageToken: m.event.messageToken, atMs });
  while (hits.length < hitCount) {
    const m = msgs[int(msgs.length)];
    const atMs = m.sentAt + 60_000 + int(now - m.sentAt - 60_000 - 1000);
    if (rand() < 0.6) {
      // Opens: 1/6 Apple MPP (10 % of hits), 1/12 GoogleImageProxy (5 %), 3 % bots, the rest the reader's own client.
      const r = rand();
      let hit;
      if (r < 1 / 6) {
        hit = { userAgent: APPLE_MPP, ip: `17.${int(256)}.${int(256)}.${1 + int(254)}` };
        expected.mppOpens++;
      } else if (r < 1 / 6 + 1 / 12) {
        hit = { userAgent: GOOGLE_IMAGE_PROXY, ip: `66.249.${80 + int(16)}.${1 + int(254)}` };
        expected.proxyOpens++;
      } else if (r < 1 / 6 + 1 / 12 + 0.03) {
        hit = { userAgent: pick(BOT_AGENTS), ip: ip() };
        expected.botHits++;
      } else {
        hit = { userAgent: m.agent, ip: m.ip };
      }
      hits.push({ type: 'open', ...base(m, atMs), ...hit, method: 'GET' });
      expected.opens++;
      continue;
    }
    const links = m.event.links;
    if (links.length >= 3 && rand() < 0.002 && hitCount - hits.length >= 3) {
      // A burst: 3-5 distinct links of the message from one IP within one second.
      const k = Math.min(links.length, 3 + int(3), hitCount - hits.length);
      const order = links.map((l) => l.index).sort(() => rand() - 0.5);
      const scanner = ip();
      for (let j = 0; j < k; j++) {
        const link = links[order[j]];
        hits.push({ type: 'click', ...base(m, atMs + int(1000)), userAgent: SCANNER_AGENT, ip: scanner, method: 'GET', linkIndex: link.index, url: link.url });
      }
      expected.clicks += k;
      expected.bursts++;
      expected.burstClicks += k;
      continue;
    }
    // Clicks: 5 % HEAD (2 % of hits; link scanners), 3 % bots, the rest the reader.
    const link = pick(links);
    const r = rand();
    let hit;
    if (r < 0.05) {
      hit = { userAgent: pick(PEOPLE_AGENTS), ip: ip(), method: 'HEAD' };
      expected.headClicks++;
    } else if (r < 0.08) {
      hit = { userAgent: pick(BOT_AGENTS), ip: ip(), method: 'GET' };
      expected.botHits++;
    } else {
      hit = { userAgent: m.agent, ip: m.ip, method: 'GET' };
    }
    hits.push({ type: 'click', ...base(m, atMs), ...hit, linkIndex: link.index, url: link.url });
    expected.clicks++;
  }
  hits.sort((a, b) => a.atMs - b.atMs);
  const hitEvents = hits.map(({ atMs, ...rest }) => ({ ...rest, id: uuid(atMs), at: new Date(atMs).toISOString() }));
  return { messageEvents, hitEvents, expected, total: events };
}

/** The open/click shapes of parseTrackingEvent, field order as the tracker writes them. */
function hitEvent(hit, id, at) {
  const event = { type: hit.type, id, server: hit.server, messageToken: hit.messageToken, at, ip: hit.ip, userAgent: hit.userAgent, method: hit.method };
  if (hit.type === 'click') {
    event.linkIndex = hit.linkIndex;
    event.url = hit.url;
  }
  return event;
}

/* ------------------------------------------------------------------ the aggregator process */

/**
 * Starts `node apps/aggregator/dist/main.js`. Its log lines (pino JSON on stdout) are counted by
 * level and message, the last `aggregator stopped` entry kept (its totals); stderr is kept for
 * error reports.
 */
function startAggregatorProcess(env, children) {
  // The node flags of `npm run start:aggregator` (a larger young generation: fewer scavenges of the per-job garbage).
  const child = spawn(process.execPath, ['--max-semi-space-size=64', AGGREGATOR_MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return watchChild(child, {
    name: 'aggregator',
    children,
    onEntry: (entry, state) => {
      if (entry.msg === 'aggregator started') state.startedAt = performance.now();
      if (entry.msg === 'aggregator stopped') state.stopped = entry;
    },
  });
}

/* ------------------------------------------------------------------ the queue-ceiling worker (4) */

/**
 * Run with `node -e` in a process of its own: a BullMQ Worker on the bench prefix that does nothing
 * with its jobs, with the aggregator's worker settings (BENCH_CEILING_SETTINGS, JSON) and, as the
 * aggregator, one ioredis connection. bullmq and ioredis come from the repo root's node_modules
 * (BENCH_ROOT). One JSON line on stdout when ready, one when stopped (SIGTERM: close, exit 0).
 */
const CEILING_WORKER_SCRIPT = `
'use strict';
const path = require('node:path');
const { Worker } = require(path.join(process.env.BENCH_ROOT, 'node_modules', 'bullmq'));
const { Redis } = require(path.join(process.env.BENCH_ROOT, 'node_modules', 'ioredis'));
const s = JSON.parse(process.env.BENCH_CEILING_SETTINGS);
const state = { failed: 0, errors: 0, firstProblem: undefined };
const connection = new Redis(s.redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker(s.queue, async () => {}, {
  connection,
  prefix: s.prefix,
  concurrency: s.concurrency,
  lockDuration: s.lockDuration,
  stalledInterval: s.stalledInterval,
  maxStalledCount: s.maxStalledCount,
});
worker.on('failed', (job, error) => {
  state.failed++;
  if (!state.firstProblem) state.firstProblem = 'job ' + (job && job.id) + ' failed: ' + error.message;
});
worker.on('error', (error) => {
  state.errors++;
  if (!state.firstProblem) state.firstProblem = 'worker error: ' + error.message;
});
const say = (entry, then) => process.stdout.write(JSON.stringify(entry) + '\\n', then);
worker.waitUntilReady().then(
  () => say({ msg: 'ready' }),
  (error) => {
    process.stderr.write('cannot reach Redis at ' + s.redisUrl + ': ' + error.message + '\\n');
    process.exit(1);
  },
);
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  worker
    .close()
    .then(() => connection.quit())
    .then(
      () => say({ msg: 'stopped', ...state }, () => process.exit(0)),
      (error) => {
        process.stderr.write('stopping: ' + error.message + '\\n');
        process.exit(1);
      },
    );
});
`;

/** Starts the queue-ceiling worker process; a watchChild state as startAggregatorProcess's (stopChild works on it). */
function startCeilingWorkerProcess(settings, children) {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '-e', CEILING_WORKER_SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, BENCH_ROOT: ROOT, BENCH_CEILING_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchChild(child, {
    name: 'no-op worker',
    children,
    onEntry: (entry, state) => {
      if (entry.msg === 'ready') state.readyAt = performance.now();
      if (entry.msg === 'stopped') state.stopped = entry;
    },
    describeMore: (state) =>
      state.stopped && state.stopped.firstProblem ? `no-op worker: ${state.stopped.failed} failed jobs, ${state.stopped.errors} errors; first: ${state.stopped.firstProblem}` : undefined,
  });
}

/* ------------------------------------------------------------------ CPU accounting */

const CLOCK_TICK_S = 0.01; // USER_HZ is 100 on Linux

/** CPU seconds used by a process, all its threads (Linux /proc; 0 when gone or elsewhere). */
function processCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_S; // utime, stime
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine, every core (/proc/stat; NaN elsewhere). */
function machineBusy() {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + (steal || 0)) * CLOCK_TICK_S; // idle and iowait left out
  } catch {
    return NaN;
  }
}

/** CPU seconds of every PostgreSQL server process (its backends, whoever they serve, and its background processes), by pid. */
function postgresProcesses() {
  const cpu = new Map();
  let pids;
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return cpu;
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(Number(pid), (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_S);
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
}

/**
 * CPU used so far by the aggregator process, the PostgreSQL backends serving the bench database
 * (whoever they serve: the aggregator, the naive worker, the polling), redis-server (INFO cpu:
 * all its clients, other users of this Redis included), this process and the whole machine.
 */
async function cpuSnapshot({ aggregatorPid, pgClient, database, redis }) {
  // No database (4.): the bench-database backends are not applicable (blank), not 0.
  const { rows } = pgClient ? await pgClient.query('select pid from pg_stat_activity where datname = $1', [database]) : { rows: null };
  const info = await redis.info('cpu');
  const field = (name) => Number((info.match(new RegExp(`^${name}:([0-9.]+)`, 'm')) || [])[1] || 0);
  const own = process.cpuUsage();
  return {
    at: performance.now(),
    aggregator: aggregatorPid ? processCpu(aggregatorPid) : 0,
    postgres: rows && new Map(rows.map((row) => [row.pid, processCpu(row.pid)])),
    postgresAll: postgresProcesses(),
    redis: field('used_cpu_user') + field('used_cpu_sys'),
    bench: (own.user + own.system) / 1e6,
    machine: machineBusy(),
  };
}

/** % of one core each used between two snapshots (a backend missing from the first had just started). */
function cpuBetween(before, after) {
  const wall = (after.at - before.at) / 1000;
  let postgres = after.postgres ? 0 : NaN;
  if (after.postgres) for (const [pid, s] of after.postgres) postgres += s - (before.postgres.get(pid) || 0);
  // Processes gone by the end (a backend closed, an autovacuum worker done) are missed: a lower bound.
  let postgresAll = 0;
  for (const [pid, s] of after.postgresAll) postgresAll += s - (before.postgresAll.get(pid) || 0);
  const pctOf = (seconds) => (100 * seconds) / wall;
  const result = {
    aggregator: pctOf(after.aggregator - before.aggregator),
    postgres: pctOf(postgres),
    postgresAll: pctOf(postgresAll),
    redis: pctOf(after.redis - before.redis),
    bench: pctOf(after.bench - before.bench),
    machine: pctOf(after.machine - before.machine),
  };
  result.other = result.machine - result.aggregator - (Number.isFinite(result.postgres) ? Math.max(result.postgres, result.postgresAll) : result.postgresAll) - result.redis - result.bench;
  return result;
}

/* ------------------------------------------------------------------ helpers */

/** Nearest-rank percentile of sorted values. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** events/s in each quarter of a drain (by events stored), from the progress polls. */
function quarterRates(samples, total) {
  const at = (count) => samples.find((sample) => sample.n >= count);
  const rates = [];
  let from = samples.find((sample) => sample.n > 0);
  for (let q = 1; q <= 4; q++) {
    const to = at(Math.ceil((q * total) / 4));
    if (!from || !to || to.at <= from.at) rates.push(NaN);
    else rates.push((to.n - from.n) / ((to.at - from.at) / 1000));
    from = to;
  }
  return rates;
}

const pct = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '-');

/** Every total the checks need, read in one statement. */
async function readTotals(client) {
  const { rows } = await client.query(`
    select
      (select count(*) from messages) as messages,
      (select count(*) from messages where platform_message_id is not null) as known_messages,
      (select coalesce(sum(opens), 0) from messages) as message_opens,
      (select coalesce(sum(clicks), 0) from messages) as message_clicks,
      (select count(*) from opens) as raw_opens,
      (select count(*) from clicks) as raw_clicks,
      (select coalesce(sum(clicks), 0) from link_stats) as link_clicks,
      (select coalesce(sum(messages), 0) from hourly_stats) as hourly_messages,
      (select coalesce(sum(opens), 0) from hourly_stats) as hourly_opens,
      (select coalesce(sum(clicks), 0) from hourly_stats) as hourly_clicks,
      (select coalesce(sum(human_opens), 0) from hourly_stats) as hourly_human_opens,
      (select coalesce(sum(human_clicks), 0) from hourly_stats) as hourly_human_clicks,
      (select count(*) from clicks where machine_reason = 'burst') as burst_clicks`);
  return Object.fromEntries(Object.entries(rows[0]).map(([key, value]) => [key, Number(value)]));
}

/** Differences between what was stored and what was generated (empty when exact). */
function checkTotals(totals, expected) {
  const want = [
    ['hourly_stats sum(opens)', totals.hourly_opens, expected.opens],
    ['hourly_stats sum(clicks)', totals.hourly_clicks, expected.clicks],
    ['hourly_stats sum(messages)', totals.hourly_messages, expected.messages],
    ['messages count(*)', totals.messages, expected.messages],
    ['messages with their message event', totals.known_messages, expected.messages],
    ['messages sum(opens)', totals.message_opens, expected.opens],
    ['messages sum(clicks)', totals.message_clicks, expected.clicks],
    ['opens rows', totals.raw_opens, expected.opens],
    ['clicks rows', totals.raw_clicks, expected.clicks],
    ['link_stats sum(clicks)', totals.link_clicks, expected.clicks],
  ];
  return want.filter(([, got, wanted]) => got !== wanted).map(([what, got, wanted]) => `${what} = ${got}, expected ${wanted}`);
}

/* ------------------------------------------------------------------ main */

async function main() {
  const messageCount = intFromEnv('BENCH_MESSAGES', 10_000, 1);
  const eventCount = intFromEnv('BENCH_EVENTS', 200_000, 1);
  const naiveEventCount = intFromEnv('BENCH_NAIVE_EVENTS', 20_000, 2);
  const lagMessages = intFromEnv('BENCH_LAG_MESSAGES', 2000, 1);
  const lagRate = intFromEnv('BENCH_LAG_RATE', 5000, 1);
  const lagSeconds = intFromEnv('BENCH_LAG_SECONDS', 20, 1);
  const chunkSize = intFromEnv('BENCH_CHUNK', 1000, 1);
  const seed = intFromEnv('BENCH_SEED', 1, 0);
  const stallMs = intFromEnv('BENCH_STALL_SECONDS', 60, 1) * 1000;
  const progressPollMs = intFromEnv('BENCH_POLL_MS', 50, 1);
  const ceilingEventCount = intFromEnv('BENCH_CEILING_EVENTS', eventCount, 2);
  if (eventCount <= messageCount) fail(`BENCH_EVENTS (${eventCount}) must be more than BENCH_MESSAGES (${messageCount}): it counts the message events too`);
  const MEASUREMENTS = ['batched', 'naive', 'lag', 'ceiling'];
  const runs = measurementsToRun('bench:aggregator', MEASUREMENTS);

  // Clear failures first: a missing build.
  const load = builtPackage;
  const { jobIdForEvent, parseTrackingEvent, TRACKING_EVENT_JOB_OPTIONS, QUEUE_NAMES } = load('contracts');
  const { openDatabase, EventPartitions } = load('db');
  const { classifyHit, classifyClick, clickTimingReason, findClickBursts } = load('classify');
  const { dropDatabase, TEST_POSTGRES_URL, TEST_REDIS_URL } = load('testing');
  if (!fs.existsSync(AGGREGATOR_MAIN)) fail(`${path.relative(ROOT, AGGREGATOR_MAIN)} is missing; build first: npx tsc -b`);
  const { loadAggregatorConfig } = require(path.join(ROOT, 'apps', 'aggregator', 'dist'));
  const { Queue, Worker } = require('bullmq');
  const { Redis } = require('ioredis');
  const pg = require('pg');
  const { v7 } = require('uuid');

  const queueName = process.env.QUEUE_TRACKING_EVENTS || QUEUE_NAMES.trackingEvents;
  const cleanups = [];
  const children = new Set();
  // Last resort: never leave an aggregator behind, whatever happens to this process.
  const killChildren = () => {
    for (const state of children) state.child.kill('SIGKILL');
  };
  process.on('exit', killChildren);
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench:aggregator: ${signal}: cleaning up`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let dbCounter = 0;
  /** A fresh migrated database; dropped (with force) by the cleanups. */
  const freshDatabase = async () => {
    const name = `mailbeacon_bench_${process.pid}_${++dbCounter}`;
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    cleanups.push(() => dropDatabase(name));
    const db = await openDatabase(url.toString(), { maxConnections: 2 });
    cleanups.push(() => db.destroy());
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    cleanups.push(() => client.end());
    return { name, url: url.toString(), db, client };
  };
  /** A fresh BullMQ prefix with the events queue under it; every key under it deleted by the cleanups. */
  let redis;
  let prefixCounter = 0;
  const freshQueue = () => {
    const prefix = `mbbench-aggregator-${process.pid}-${++prefixCounter}`;
    cleanups.push(async () => {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
        if (keys.length) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    });
    const queue = new Queue(queueName, { connection: redis, prefix });
    cleanups.push(() => queue.close());
    return { prefix, queue };
  };
  const jobOf = (event) => ({ name: event.type, data: event, opts: { ...TRACKING_EVENT_JOB_OPTIONS, jobId: jobIdForEvent(event.id) } });
  const preload = async (queue, events) => {
    for (let i = 0; i < events.length; i += chunkSize) {
      if (interrupted) fail('interrupted');
      await queue.addBulk(events.slice(i, i + chunkSize).map(jobOf));
    }
    const { wait } = await queue.getJobCounts('wait');
    if (wait !== events.length) fail(`the queue holds ${wait} waiting jobs after adding ${events.length} events`);
  };
  const aggregatorEnv = (database, prefix) => ({
    ...process.env,
    REDIS_URL: TEST_REDIS_URL,
    DATABASE_URL: database.url,
    QUEUE_PREFIX: prefix,
    QUEUE_TRACKING_EVENTS: queueName,
    LOG_LEVEL: 'info',
  });
  const startAggregator = (env) => {
    const state = startAggregatorProcess(env, children);
    cleanups.push(async () => {
      if (!state.exited) await stopChild(state, 20_000);
    });
    return state;
  };
  /** SIGTERM and the exit; a problem unless it exits 0. */
  const stopAggregator = async (state, problems, label) => {
    const exited = await stopChild(state, 30_000);
    if (exited.code !== 0) problems.push(`${label}: the aggregator did not stop cleanly on SIGTERM (exit code ${exited.code}, signal ${exited.signal})\n${state.describe()}`);
    return exited;
  };

  /**
   * Polls progress every progressPollMs until every event is stored: the first poll that saw
   * anything (time, count) and the time of the poll that saw everything. Progress is read from
   * hourly_stats (a few dozen rows: a cheap query), written in the same transaction as the rows;
   * once it reaches `total`, the exact row count (STORED_SQL) must agree, or polling goes on
   * with the row count itself. `alive()` is asked at every poll, `onFirst()` awaited once.
   */
  const drain = async (client, total, alive, describe, onFirst) => {
    let first;
    let seen = -1;
    let progressAt = performance.now();
    let exact = false;
    let disagreement;
    const queryMs = [];
    const samples = [];
    for (;;) {
      const sent = performance.now();
      const n = Number((await client.query(exact ? STORED_SQL : PROGRESS_SQL)).rows[0].n);
      const now = performance.now();
      queryMs.push(now - sent);
      samples.push({ at: sent, n });
      if (n > 0 && first === undefined) {
        first = { at: sent, count: n };
        if (onFirst) await onFirst();
      }
      if (n >= total) {
        const stored = exact ? n : Number((await client.query(STORED_SQL)).rows[0].n);
        if (stored === total) return { first, end: sent, count: stored, queryMs, samples, disagreement };
        if (!exact) {
          disagreement = `hourly_stats counted ${n} events when ${stored} rows were stored`;
          exact = true;
        }
      }
      if (interrupted) fail('interrupted');
      alive();
      if (n !== seen) {
        seen = n;
        progressAt = now;
      } else if (now - progressAt > stallMs) {
        const totals = await readTotals(client);
        fail(
          `stored events stuck at ${n} of ${total} (${exact ? 'rows' : 'hourly_stats'}) for ${stallMs / 1000} s` +
            `${disagreement ? `; ${disagreement}` : ''}\ntotals now: ${JSON.stringify(totals)}\n${describe()}`,
        );
      }
      await sleep(Math.max(0, progressPollMs - (performance.now() - sent)));
    }
  };
  /** Every job completed, none failed (completion is marked just after the commit: a moment's grace). */
  const checkJobs = async (queue, total, problems, label) => {
    let counts;
    for (let i = 0; i < 100; i++) {
      counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'paused');
      if (counts.completed >= total) break;
      await sleep(20);
    }
    if (counts.completed !== total || counts.failed || counts.wait || counts.active || counts.delayed || counts.prioritized || counts.paused) {
      const [job] = counts.failed ? await queue.getFailed(0, 0) : [];
      problems.push(`${label}: jobs ${JSON.stringify(counts)}, expected ${total} completed and nothing else${job ? `; e.g. failed ${job.id}: ${job.failedReason}` : ''}`);
    }
  };

  const report = {};
  try {
    // What the aggregator's config loader makes of this environment (the same for every measurement's database and prefix).
    report.config = loadAggregatorConfig(aggregatorEnv({ url: TEST_POSTGRES_URL }, `mbbench-aggregator-${process.pid}-0`));
  } catch (error) {
    fail(`bad aggregator configuration:\n${error.message}`);
  }
  try {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    cleanups.push(() => redis.quit());
    /** The aggregator's click rules (request, timing, bursts) applied to the whole stream at once: machine and burst clicks. */
    const predictClicks = ({ messageEvents, hitEvents }) => {
      const config = loadAggregatorConfig({ ...process.env, REDIS_URL: TEST_REDIS_URL, DATABASE_URL: TEST_POSTGRES_URL });
      const sentAt = new Map(messageEvents.map((m) => [m.messageToken, Date.parse(m.at)]));
      const byToken = new Map();
      for (const e of hitEvents) if (e.type === 'click') byToken.set(e.messageToken, [...(byToken.get(e.messageToken) || []), e]);
      let machine = 0;
      let burst = 0;
      for (const [token, clicks] of byToken) {
        const bursts = findClickBursts(
          clicks.map((c) => ({ id: c.id, ip: c.ip, linkIndex: c.linkIndex, atMs: Date.parse(c.at) })),
          { windowMs: config.BURST_WINDOW_MS, minDistinctLinks: config.BURST_MIN_LINKS },
        );
        for (const c of clicks) {
          const request = classifyHit({ type: 'click', method: c.method, userAgent: c.userAgent, purpose: c.purpose });
          const result = classifyClick(request, clickTimingReason(Date.parse(c.at), sentAt.get(token), config.EARLY_CLICK_MS), bursts.has(c.id));
          if (result.machine) machine++;
          if (result.reason === 'burst') burst++;
        }
      }
      return { machine, burst };
    };
    const predictMachineOpens = (events) => events.filter((e) => e.type === 'open' && classifyHit({ type: 'open', method: e.method, userAgent: e.userAgent, purpose: e.purpose }).machine).length;

    /** The stream of 1 (BENCH_EVENTS), generated when a measurement first needs it. */
    let stream;
    const mainStream = () => {
      if (stream) return stream;
      const genStart = performance.now();
      stream = generateStream({ seed, messages: messageCount, events: eventCount, now: Date.now(), label: 'b', v7 });
      for (const event of [stream.messageEvents[0], stream.hitEvents[0], stream.hitEvents.find((e) => e.type === 'click')]) parseTrackingEvent(event); // the shapes are right
      report.genMs = performance.now() - genStart;
      report.expected = stream.expected;
      console.error(`  generated ${eventCount} events (${messageCount} messages, ${stream.expected.opens} opens, ${stream.expected.clicks} clicks) in ${(report.genMs / 1000).toFixed(1)} s`);
      return stream;
    };
    /** The same generator scaled to `events` (messages in the same proportion, so the mix is the same); the stream of 1 itself at BENCH_EVENTS. */
    const scaledStream = (events, label) =>
      events === eventCount
        ? mainStream()
        : generateStream({ seed, messages: Math.max(1, Math.min(events - 1, Math.round((messageCount * events) / eventCount))), events, now: Date.now(), label, v7 });

    /* ================================================================ 1. batched: the aggregator */
    if (runs.has('batched')) {
      const stream = mainStream();
      const streamEvents = [...stream.messageEvents, ...stream.hitEvents];
      report.predictedMachineOpens = predictMachineOpens(stream.hitEvents);
      report.predictedClicks = predictClicks(stream);
      const database = await freshDatabase();
      const { prefix, queue } = freshQueue();
      const env = aggregatorEnv(database, prefix);
      try {
        report.config = loadAggregatorConfig(env); // what the aggregator will read
      } catch (error) {
        fail(`bad aggregator configuration:\n${error.message}`);
      }
      const preloadStart = performance.now();
      await preload(queue, streamEvents);
      report.preloadMs = performance.now() - preloadStart;
      console.error(`  batched: ${eventCount} events preloaded in ${(report.preloadMs / 1000).toFixed(1)} s; starting the aggregator`);

      const spawnedAt = performance.now();
      const agg = startAggregator(env);
      const alive = () => {
        if (agg.exited) fail(`the aggregator stopped during the run\n${agg.describe()}`);
      };
      const snap = () => cpuSnapshot({ aggregatorPid: agg.child.pid, pgClient: database.client, database: database.name, redis });
      let cpuFirst;
      const done = await drain(database.client, eventCount, alive, agg.describe, async () => (cpuFirst = await snap()));
      const cpu = cpuBetween(cpuFirst, await snap());
      const totals = await readTotals(database.client);
      const bad = checkTotals(totals, stream.expected);
      await checkJobs(queue, eventCount, bad, 'batched');
      const exited = await stopAggregator(agg, bad, 'batched');
      if (bad.length) fail(`batched run check failed (the aggregator's results are not exact):\n  ${bad.join('\n  ')}\n${agg.describe()}`);
      report.batched = {
        events: eventCount,
        measured: eventCount - done.first.count,
        seconds: (done.end - done.first.at) / 1000,
        fromSpawnSeconds: (done.end - spawnedAt) / 1000,
        startupMs: agg.startedAt === undefined ? NaN : agg.startedAt - spawnedAt,
        firstRowMs: done.first.at - spawnedAt,
        firstCount: done.first.count,
        pollMs: done.queryMs.reduce((a, b) => a + b, 0) / done.queryMs.length,
        polls: done.queryMs.length,
        disagreement: done.disagreement,
        quarters: quarterRates(done.samples, eventCount),
        totals,
        cpu,
        stopped: agg.stopped,
        exit: exited,
        logs: [...agg.logs].sort((a, b) => b[1] - a[1]),
      };
      if (!(report.batched.seconds > 0)) fail(`batched run: everything was stored by the first poll that saw a row (${eventCount} events is too few to time); raise BENCH_EVENTS`);
      report.batched.rate = report.batched.measured / report.batched.seconds;
      console.error(`  batched: ${Math.round(report.batched.rate)} events/s (${report.batched.measured} events in ${report.batched.seconds.toFixed(2)} s after the first row); checked exact`);
    }

    /* ================================================================ 2. per event: the naive worker */
    if (runs.has('naive')) {
      const naiveEvents = Math.min(naiveEventCount, eventCount);
      const naiveStream = scaledStream(naiveEvents, 'n');
      const events = [...naiveStream.messageEvents, ...naiveStream.hitEvents];
      const database = await freshDatabase();
      const { prefix, queue } = freshQueue();
      await new EventPartitions(database.db).ensure(naiveStream.hitEvents.map((event) => Date.parse(event.at)));
      await preload(queue, events);

      const pool = new pg.Pool({ connectionString: database.url, max: NAIVE_CONCURRENCY });
      pool.on('error', () => {});
      cleanups.push(() => pool.end());
      // Open the pool's connections before the clock starts (the aggregator's are open by its first batch too).
      await Promise.all(Array.from({ length: NAIVE_CONCURRENCY }, () => pool.connect())).then((clients) => clients.forEach((c) => c.release()));
      let waits = 0;
      const hourIso = (iso) => new Date(Math.floor(Date.parse(iso) / HOUR_MS) * HOUR_MS).toISOString();

      const storeMessage = async (e) => {
        const client = await pool.connect();
        try {
          await client.query('begin');
          const inserted = await client.query({
            name: 'naive-message',
            text: `insert into messages (token, server, platform_message_id, recipient, tag, tracking_domain, link_count, pixel, sent_at)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   on conflict (token) do update set server = excluded.server, platform_message_id = excluded.platform_message_id,
                     recipient = excluded.recipient, tag = excluded.tag, tracking_domain = excluded.tracking_domain,
                     link_count = excluded.link_count, pixel = excluded.pixel, sent_at = excluded.sent_at, updated_at = now()
                   where messages.platform_message_id is null
                   returning token`,
            values: [e.messageToken, e.server, e.platformMessageId, e.recipient ?? null, e.tag ?? null, e.trackingDomain, e.links.length, e.pixel, e.at],
          });
          if (inserted.rowCount === 1) {
            await client.query({
              name: 'naive-hourly-message',
              text: `insert into hourly_stats (server, tracking_domain, tag, hour, messages) values ($1, $2, $3, $4, 1)
                     on conflict (server, tracking_domain, tag, hour) do update set messages = hourly_stats.messages + 1`,
              values: [e.server, e.trackingDomain, e.tag ?? '', hourIso(e.at)],
            });
          }
          await client.query('commit');
        } catch (error) {
          await client.query('rollback').catch(() => {});
          throw error;
        } finally {
          client.release();
        }
      };

      /** true when stored (or already there), false when its message event has not landed yet. */
      const storeHitOnce = async (e, result) => {
        const human = result.machine ? 0 : 1;
        const client = await pool.connect();
        try {
          await client.query('begin');
          const inserted =
            e.type === 'open'
              ? await client.query({
                  name: 'naive-open',
                  text: `insert into opens (id, at, message_token, server, ip, user_agent, method, purpose, proxy, machine, machine_reason)
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing returning id`,
                  values: [e.id, e.at, e.messageToken, e.server, e.ip, e.userAgent, e.method, e.purpose ?? null, result.proxy, result.machine, result.reason],
                })
              : await client.query({
                  name: 'naive-click',
                  text: `insert into clicks (id, at, message_token, server, link_index, url, ip, user_agent, method, purpose, machine, machine_reason)
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict do nothing returning id`,
                  values: [e.id, e.at, e.messageToken, e.server, e.linkIndex, e.url, e.ip, e.userAgent, e.method, e.purpose ?? null, result.machine, result.reason],
                });
          if (inserted.rowCount === 0) {
            await client.query('commit'); // a redelivery: counted already
            return true;
          }
          const message =
            e.type === 'open'
              ? await client.query({
                  name: 'naive-message-open',
                  text: `update messages set opens = opens + 1, human_opens = human_opens + $2,
                           first_opened_at = least(first_opened_at, $3), last_opened_at = greatest(last_opened_at, $3),
                           first_human_opened_at = case when $2 = 1 then least(first_human_opened_at, $3) else first_human_opened_at end,
                           updated_at = now()
                         where token = $1 and platform_message_id is not null
                         returning server, tracking_domain, tag`,
                  values: [e.messageToken, human, e.at],
                })
              : await client.query({
                  name: 'naive-message-click',
                  text: `update messages set clicks = clicks + 1, human_clicks = human_clicks + $2,
                           first_clicked_at = least(first_clicked_at, $3), last_clicked_at = greatest(last_clicked_at, $3),
                           first_human_clicked_at = case when $2 = 1 then least(first_human_clicked_at, $3) else first_human_clicked_at end,
                           updated_at = now()
                         where token = $1 and platform_message_id is not null
                         returning server, tracking_domain, tag`,
                  values: [e.messageToken, human, e.at],
                });
          if (message.rowCount === 0) {
            await client.query('rollback');
            return false;
          }
          const { server, tracking_domain: trackingDomain, tag } = message.rows[0];
          if (e.type === 'click') {
            await client.query({
              name: 'naive-link',
              text: `insert into link_stats (message_token, link_index, url, clicks, human_clicks, first_clicked_at, last_clicked_at)
                     values ($1, $2, $3, 1, $4, $5, $5)
                     on conflict (message_token, link_index) do update set clicks = link_stats.clicks + 1, human_clicks = link_stats.human_clicks + excluded.human_clicks,
                       first_clicked_at = least(link_stats.first_clicked_at, excluded.first_clicked_at),
                       last_clicked_at = greatest(link_stats.last_clicked_at, excluded.last_clicked_at)`,
              values: [e.messageToken, e.linkIndex, e.url, human, e.at],
            });
          }
          await client.query({
            name: `naive-hourly-${e.type}`,
            text:
              e.type === 'open'
                ? `insert into hourly_stats (server, tracking_domain, tag, hour, opens, human_opens) values ($1, $2, $3, $4, 1, $5)
                   on conflict (server, tracking_domain, tag, hour) do update set opens = hourly_stats.opens + 1, human_opens = hourly_stats.human_opens + excluded.human_opens`
                : `insert into hourly_stats (server, tracking_domain, tag, hour, clicks, human_clicks) values ($1, $2, $3, $4, 1, $5)
                   on conflict (server, tracking_domain, tag, hour) do update set clicks = hourly_stats.clicks + 1, human_clicks = hourly_stats.human_clicks + excluded.human_clicks`,
            values: [server, trackingDomain ?? '', tag ?? '', hourIso(e.at), human],
          });
          await client.query('commit');
          return true;
        } catch (error) {
          await client.query('rollback').catch(() => {});
          throw error;
        } finally {
          client.release();
        }
      };

      const handle = async (job) => {
        const e = parseTrackingEvent(job.data);
        if (e.type === 'message') return storeMessage(e);
        const result = classifyHit({ type: e.type, method: e.method, userAgent: e.userAgent, purpose: e.purpose });
        for (let attempt = 0; ; attempt++) {
          if (await storeHitOnce(e, result)) return;
          waits++;
          if (attempt >= 2000) throw new Error(`message ${e.messageToken} never arrived`);
          await sleep(5);
        }
      };

      const workerConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
      cleanups.push(() => workerConnection.quit());
      const failures = [];
      const snap = () => cpuSnapshot({ pgClient: database.client, database: database.name, redis });
      let cpuFirst;
      const startedAt = performance.now();
      const worker = new Worker(queueName, handle, { connection: workerConnection, prefix, concurrency: NAIVE_CONCURRENCY });
      cleanups.push(() => worker.close());
      worker.on('failed', (job, error) => failures.length < 5 && failures.push(`${job && job.id}: ${error.message}`));
      worker.on('error', (error) => failures.length < 5 && failures.push(`worker error: ${error.message}`));
      const done = await drain(
        database.client,
        events.length,
        () => {
          if (failures.length) fail(`per-event worker failed:\n  ${failures.join('\n  ')}`);
        },
        () => `per-event worker failures: ${failures.join('; ') || 'none'}`,
        async () => (cpuFirst = await snap()),
      );
      const cpu = cpuBetween(cpuFirst, await snap());
      await worker.close();
      const totals = await readTotals(database.client);
      const bad = checkTotals(totals, naiveStream.expected);
      await checkJobs(queue, events.length, bad, 'per-event');
      if (bad.length) fail(`per-event run check failed:\n  ${bad.join('\n  ')}`);
      report.naive = {
        events: events.length,
        messages: naiveStream.expected.messages,
        measured: events.length - done.first.count,
        seconds: (done.end - done.first.at) / 1000,
        fromStartSeconds: (done.end - startedAt) / 1000,
        waits,
        disagreement: done.disagreement,
        totals,
        cpu,
      };
      if (!(report.naive.seconds > 0)) fail(`per-event run: everything was stored by the first poll that saw a row (${events.length} events is too few to time); raise BENCH_NAIVE_EVENTS`);
      report.naive.rate = report.naive.measured / report.naive.seconds;
      console.error(`  per-event: ${Math.round(report.naive.rate)} events/s (${report.naive.measured} events in ${report.naive.seconds.toFixed(2)} s after the first row); checked exact`);
    }

    /* ================================================================ 3. lag under a steady stream */
    if (runs.has('lag')) {
      const hitsToPublish = lagRate * lagSeconds;
      const lagStream = generateStream({ seed: seed + 1, messages: lagMessages, events: lagMessages + hitsToPublish, now: Date.now(), label: 'l', v7 });
      const database = await freshDatabase();
      const { prefix, queue } = freshQueue();
      const agg = startAggregator(aggregatorEnv(database, prefix));
      const alive = () => {
        if (agg.exited) fail(`the aggregator stopped during the lag run\n${agg.describe()}`);
      };
      await preload(queue, lagStream.messageEvents);
      {
        const deadline = performance.now() + stallMs;
        for (;;) {
          const { rows } = await database.client.query('select count(*) as n from messages where platform_message_id is not null');
          if (Number(rows[0].n) >= lagMessages) break;
          alive();
          if (interrupted) fail('interrupted');
          if (performance.now() > deadline) fail(`lag run: only ${rows[0].n} of ${lagMessages} messages stored after ${stallMs / 1000} s\n${agg.describe()}`);
          await sleep(50);
        }
      }
      await sleep(500); // the message events' jobs complete; the aggregator is idle again

      const poller = new pg.Client({ connectionString: database.url });
      await poller.connect();
      cleanups.push(() => poller.end());
      const samples = [];
      let publishing = true;
      let pollError;
      const poll = (async () => {
        try {
          let progressAt = performance.now();
          let last = -1;
          for (;;) {
            const sent = performance.now();
            const total = Number((await poller.query('select coalesce(sum(opens + clicks), 0) as n from hourly_stats')).rows[0].n);
            samples.push({ at: sent, total });
            if (!publishing && total >= hitsToPublish) return;
            if (interrupted || agg.exited) return;
            if (total !== last) {
              last = total;
              progressAt = performance.now();
            } else if (!publishing && performance.now() - progressAt > stallMs) {
              throw new BenchError(`lag run: hourly_stats stuck at ${total} of ${hitsToPublish} events for ${stallMs / 1000} s\n${agg.describe()}`);
            }
            await sleep(Math.max(0, LAG_POLL_MS - (performance.now() - sent)));
          }
        } catch (error) {
          pollError = error;
        }
      })();

      const snap = () => cpuSnapshot({ aggregatorPid: agg.child.pid, pgClient: database.client, database: database.name, redis });
      const cpu0 = await snap();
      const chunks = [];
      const start = performance.now();
      let published = 0;
      for (let tick = 1; published < hitsToPublish; tick++) {
        if (interrupted) fail('interrupted');
        alive();
        if (pollError) throw pollError;
        const elapsed = performance.now() - start;
        const due = Math.min(hitsToPublish, Math.floor((lagRate * elapsed) / 1000));
        if (due > published) {
          const nowMs = Date.now();
          const at = new Date(nowMs).toISOString();
          const batch = lagStream.hitEvents.slice(published, due).map((hit) => hitEvent(hit, v7({ msecs: nowMs }), at));
          const publishAt = performance.now();
          await queue.addBulk(batch.map(jobOf));
          // How late the chunk's first event went out against the schedule (one tick of slack is the method's).
          const dueAt = start + (published * 1000) / lagRate;
          published = due;
          chunks.push({ at: publishAt, cumulative: published, size: batch.length, lateMs: publishAt - dueAt, addMs: performance.now() - publishAt });
        }
        await sleep(Math.max(0, start + tick * LAG_TICK_MS - performance.now()));
      }
      const publishEnd = performance.now();
      publishing = false;
      await poll;
      if (pollError) throw pollError;
      const cpu = cpuBetween(cpu0, await snap());
      alive();
      if (interrupted) fail('interrupted');

      // Lag per chunk: the first poll (sent) whose total reaches the chunk's cumulative count.
      const lags = [];
      let s = 0;
      for (const chunk of chunks) {
        while (s < samples.length && samples[s].total < chunk.cumulative) s++;
        if (s === samples.length) fail(`lag run: no poll saw ${chunk.cumulative} events`);
        lags.push(samples[s].at - chunk.at);
      }
      const sortedLags = [...lags].sort((a, b) => a - b);
      // Did the aggregator keep up? What hourly_stats held when publishing ended, and when all was in.
      const atPublishEnd = [...samples].reverse().find((sample) => sample.at <= publishEnd);
      const allIn = samples.find((sample) => sample.total >= hitsToPublish);
      const sortedLate = chunks.map((c) => c.lateMs).sort((a, b) => a - b);
      const sortedAdd = chunks.map((c) => c.addMs).sort((a, b) => a - b);

      const totals = await readTotals(database.client);
      const bad = checkTotals(totals, { ...lagStream.expected });
      await checkJobs(queue, lagMessages + hitsToPublish, bad, 'lag');
      await stopAggregator(agg, bad, 'lag');
      if (bad.length) fail(`lag run check failed (the aggregator's results are not exact):\n  ${bad.join('\n  ')}\n${agg.describe()}`);
      const pollGaps = samples.slice(1).map((x, i) => x.at - samples[i].at).sort((a, b) => a - b);
      report.lag = {
        events: hitsToPublish,
        chunks: chunks.length,
        p50: percentile(sortedLags, 50),
        p99: percentile(sortedLags, 99),
        max: sortedLags[sortedLags.length - 1],
        // Rate: events over the time from the clock's start to the last chunk's publish time.
        achievedRate: hitsToPublish / ((chunks[chunks.length - 1].at - start) / 1000),
        publishSeconds: (publishEnd - start) / 1000,
        lateP99: percentile(sortedLate, 99),
        lateMax: sortedLate[sortedLate.length - 1],
        addP99: percentile(sortedAdd, 99),
        meanChunk: hitsToPublish / chunks.length,
        polls: samples.length,
        pollGapP99: percentile(pollGaps, 99),
        storedAtPublishEnd: atPublishEnd ? atPublishEnd.total : 0,
        allInAfterMs: allIn.at - publishEnd,
        cpu,
        stopped: agg.stopped,
        logs: [...agg.logs].sort((a, b) => b[1] - a[1]),
      };
      console.error(`  lag: p50 ${report.lag.p50.toFixed(0)} ms, p99 ${report.lag.p99.toFixed(0)} ms at ${Math.round(report.lag.achievedRate)} events/s achieved; checked exact`);
    }

    /* ================================================================ 4. queue ceiling: BullMQ alone, nothing written */
    if (runs.has('ceiling')) {
      const ceilingStream = scaledStream(ceilingEventCount, 'c');
      const events = [...ceilingStream.messageEvents, ...ceilingStream.hitEvents];
      const { config } = report;
      const { prefix, queue } = freshQueue();
      const preloadStart = performance.now();
      await preload(queue, events);
      const preloadMs = performance.now() - preloadStart;
      const settings = {
        redisUrl: TEST_REDIS_URL,
        queue: queueName,
        prefix,
        concurrency: (config.AGGREGATOR_WRITERS + 1) * config.AGGREGATOR_BATCH_SIZE, // the aggregator's
        lockDuration: config.LOCK_DURATION_MS,
        stalledInterval: config.STALLED_INTERVAL_MS,
        maxStalledCount: config.MAX_STALLED_COUNT,
      };
      console.error(`  ceiling: ${events.length} events preloaded in ${(preloadMs / 1000).toFixed(1)} s; starting the no-op worker (concurrency ${settings.concurrency})`);

      const spawnedAt = performance.now();
      const worker = startCeilingWorkerProcess(settings, children);
      cleanups.push(async () => {
        if (!worker.exited) await stopChild(worker, 20_000);
      });
      const alive = () => {
        if (worker.exited) fail(`the no-op worker stopped during the run\n${worker.describe()}`);
      };
      const snap = () => cpuSnapshot({ aggregatorPid: worker.child.pid, redis });
      let cpuFirst;
      // As drain(), with the queue's completed count: first poll that saw a completed job → the one that saw them all.
      let first;
      let end;
      let seen = -1;
      let progressAt = performance.now();
      const queryMs = [];
      const samples = [];
      for (;;) {
        const sent = performance.now();
        const { completed } = await queue.getJobCounts('completed');
        const now = performance.now();
        queryMs.push(now - sent);
        samples.push({ at: sent, n: completed });
        if (completed > 0 && first === undefined) {
          first = { at: sent, count: completed };
          cpuFirst = await snap();
        }
        if (completed >= events.length) {
          end = sent;
          break;
        }
        if (interrupted) fail('interrupted');
        alive();
        if (completed !== seen) {
          seen = completed;
          progressAt = now;
        } else if (now - progressAt > stallMs) {
          const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'paused');
          fail(`queue ceiling: completed jobs stuck at ${completed} of ${events.length} for ${stallMs / 1000} s; jobs ${JSON.stringify(counts)}\n${worker.describe()}`);
        }
        await sleep(Math.max(0, progressPollMs - (performance.now() - sent)));
      }
      const cpu = cpuBetween(cpuFirst, await snap());
      const bad = [];
      await checkJobs(queue, events.length, bad, 'queue ceiling');
      const exited = await stopChild(worker, 30_000);
      if (exited.code !== 0) bad.push(`queue ceiling: the no-op worker did not stop cleanly on SIGTERM (exit code ${exited.code}, signal ${exited.signal})`);
      else if (!worker.stopped) bad.push('queue ceiling: the no-op worker exited 0 without its stop report');
      else if (worker.stopped.failed || worker.stopped.errors) bad.push(`queue ceiling: the no-op worker saw ${worker.stopped.failed} failed jobs and ${worker.stopped.errors} errors`);
      if (bad.length) fail(`queue ceiling run check failed:\n  ${bad.join('\n  ')}\n${worker.describe()}`);
      report.ceiling = {
        events: events.length,
        messages: ceilingStream.expected.messages,
        sameStream: ceilingStream === stream,
        preloadMs,
        settings,
        measured: events.length - first.count,
        seconds: (end - first.at) / 1000,
        fromSpawnSeconds: (end - spawnedAt) / 1000,
        readyMs: worker.readyAt === undefined ? NaN : worker.readyAt - spawnedAt,
        firstMs: first.at - spawnedAt,
        firstCount: first.count,
        pollMs: queryMs.reduce((a, b) => a + b, 0) / queryMs.length,
        polls: queryMs.length,
        quarters: quarterRates(samples, events.length),
        cpu,
        exit: exited,
      };
      if (!(report.ceiling.seconds > 0)) fail(`queue ceiling: every job was completed by the first poll that saw one (${events.length} events is too few to time); raise BENCH_CEILING_EVENTS`);
      report.ceiling.rate = report.ceiling.measured / report.ceiling.seconds;
      console.error(`  ceiling: ${Math.round(report.ceiling.rate)} events/s (${report.ceiling.measured} jobs in ${report.ceiling.seconds.toFixed(2)} s after the first completed); all completed, none failed`);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const cleanupProblems = await runCleanups(cleanups);
    killChildren();
    if (cleanupProblems.length) {
      console.error(`bench:aggregator: cleanup problems:\n  ${cleanupProblems.join('\n  ')}`);
      process.exitCode = 1;
    }
  }

  /* ---- report */
  const { config, expected, batched: b, naive: n, lag, ceiling: c } = report;
  const cores = os.availableParallelism();
  const batchesOf = (stopped) => (stopped ? `${stopped.batches} batches, mean ${(stopped.events / Math.max(1, stopped.batches)).toFixed(0)} events` : 'batches: no stop log');
  const byQuarter = (quarters) => quarters.map((r) => (Number.isFinite(r) ? Math.round(r) : '-')).join(' / ');
  if (runs.size < MEASUREMENTS.length) console.log(`BENCH_ONLY: ${[...runs].join(', ')} (${MEASUREMENTS.filter((m) => !runs.has(m)).join(', ')} left out)`);
  console.log(
    `aggregator: node ${path.relative(ROOT, AGGREGATOR_MAIN)}, AGGREGATOR_BATCH_SIZE=${config.AGGREGATOR_BATCH_SIZE} AGGREGATOR_BATCH_WAIT_MS=${config.AGGREGATOR_BATCH_WAIT_MS} ` +
      `AGGREGATOR_WRITERS=${config.AGGREGATOR_WRITERS} LOG_LEVEL=info, queue <fresh prefix>:${queueName} on ${TEST_REDIS_URL}, fresh database per measurement on ${new URL(TEST_POSTGRES_URL).host}` +
      `${b ? `; stopped by SIGTERM, exit ${b.exit.code}` : ''}`,
  );
  console.log(`machine: ${cores} cores (${os.cpus()[0].model}); Node ${process.version}; Redis, PostgreSQL and this process share it`);
  if (expected) {
    console.log(
      `stream (seed ${seed}): ${eventCount} events = ${expected.messages} message events + ${expected.opens} opens (of them ${pct(expected.mppOpens, expected.opens)} Apple MPP, ${pct(expected.proxyOpens, expected.opens)} GoogleImageProxy) ` +
        `+ ${expected.clicks} clicks (${expected.headClicks} HEAD, ${expected.bursts} bursts of 3-5 links = ${expected.burstClicks} clicks); ${expected.botHits} bot hits; generated in ${(report.genMs / 1000).toFixed(1)} s`,
    );
  }
  if (b) {
    console.log(
      `batched: preloaded in ${(report.preloadMs / 1000).toFixed(1)} s (addBulk x ${chunkSize}); aggregator up ${Number.isFinite(b.startupMs) ? `${(b.startupMs / 1000).toFixed(2)} s` : '?'} after spawn, ` +
        `first row seen ${(b.firstRowMs / 1000).toFixed(2)} s after spawn (${b.firstCount} events stored by then); ${batchesOf(b.stopped)}; ` +
        `progress polls ${b.polls} x, mean ${b.pollMs.toFixed(1)} ms; checked exact (hourly_stats, messages, link_stats, raw rows, jobs)`,
    );
    console.log(`batched, events/s by quarter of the stream (first row → 25 %, → 50 %, → 75 %, → 100 %): ${byQuarter(b.quarters)}`);
  }
  if (n) {
    console.log(
      `per event: ${n.events} events (${n.messages} messages, same generator scaled), BullMQ Worker concurrency ${NAIVE_CONCURRENCY}, pg Pool max ${NAIVE_CONCURRENCY}, one transaction per event; ` +
        `${n.waits} retries of a hit whose message was still in flight; checked exact`,
    );
  }
  if (lag) {
    console.log(
      `lag: ${lagMessages} messages stored first, then ${lag.events} hits at ${lagRate} events/s target for ${lagSeconds} s in ${lag.chunks} chunks (mean ${lag.meanChunk.toFixed(1)} events, addBulk p99 ${lag.addP99.toFixed(1)} ms), ` +
        `achieved ${Math.round(lag.achievedRate)} events/s, chunks late against the schedule p99 ${lag.lateP99.toFixed(1)} ms, max ${lag.lateMax.toFixed(1)} ms; ` +
        `${lag.polls} polls (gap p99 ${lag.pollGapP99.toFixed(1)} ms); ${batchesOf(lag.stopped)}`,
    );
    if (lag.achievedRate < 0.98 * lagRate) {
      console.log(`note: publishing fell behind the target rate: ${Math.round(lag.achievedRate)} of ${lagRate} events/s achieved (the lag is measured from each chunk's actual publish time)`);
    } else if (lag.lateMax > 100) {
      console.log(
        `note: publishing kept the target rate on average (${Math.round(lag.achievedRate)} events/s) but was late against the schedule at times (chunks up to ${lag.lateMax.toFixed(0)} ms late, ` +
          `p99 ${lag.lateP99.toFixed(0)} ms; late chunks are bigger); the lag is measured from each chunk's actual publish time`,
      );
    }
    if (lag.storedAtPublishEnd < lag.events - lagRate) {
      console.log(
        `note: the aggregator did not keep up with ${lagRate} events/s: when publishing ended (${lag.publishSeconds.toFixed(1)} s) hourly_stats held ${lag.storedAtPublishEnd} of ${lag.events} events ` +
          `(${Math.round(lag.storedAtPublishEnd / lag.publishSeconds)} events/s stored meanwhile), the rest took ${(lag.allInAfterMs / 1000).toFixed(1)} s more: the lag grew with the backlog`,
      );
    }
  }
  if (c) {
    const st = c.settings;
    console.log(
      `queue ceiling: ${c.events} events (${c.sameStream ? 'the stream of 1' : `${c.messages} messages, same generator scaled`}), preloaded in ${(c.preloadMs / 1000).toFixed(1)} s (addBulk x ${chunkSize}) under a fresh prefix, same job ids and options; ` +
        `a BullMQ Worker doing nothing (the processor returns at once) in a process of its own (node -e), the aggregator's worker settings: concurrency (AGGREGATOR_WRITERS ${config.AGGREGATOR_WRITERS} + 1) × AGGREGATOR_BATCH_SIZE ${config.AGGREGATOR_BATCH_SIZE} = ${st.concurrency}, ` +
        `lockDuration ${st.lockDuration}, stalledInterval ${st.stalledInterval}, maxStalledCount ${st.maxStalledCount}; up ${Number.isFinite(c.readyMs) ? `${(c.readyMs / 1000).toFixed(2)} s` : '?'} after spawn, ` +
        `first completed job seen ${(c.firstMs / 1000).toFixed(2)} s after spawn (${c.firstCount} completed by then); getJobCounts('completed') polls ${c.polls} x, mean ${c.pollMs.toFixed(1)} ms; ` +
        `checked: every job completed, none failed; stopped by SIGTERM, exit ${c.exit.code}`,
    );
    console.log(`queue ceiling, events/s by quarter of the stream (first completed → 25 %, → 50 %, → 75 %, → 100 %): ${byQuarter(c.quarters)}`);
  }
  const aggLogs = [...(b ? b.logs : []), ...(lag ? lag.logs : [])];
  const logLines = [...new Set(aggLogs.map(([k]) => k))].filter((k) => !/^info: (aggregator started|aggregator stopped|stopping: finishing the work in hand)$/.test(k));
  if (logLines.length) console.log(`aggregator log, other than start/stop:\n  ${aggLogs.filter(([k]) => logLines.includes(k)).map(([k, count]) => `${count} x ${k}`).join('\n  ')}`);

  const ratio = b && n ? b.rate / n.rate : NaN;
  const rows = [['measurement', 'events', 'seconds', 'events/s', 'p50 ms', 'p99 ms', 'max ms']];
  if (b) {
    rows.push(['1. batched: aggregator process, preloaded queue (after first row)', b.measured, b.seconds.toFixed(2), Math.round(b.rate), '', '', '']);
    rows.push(['   same, counted from the spawn (start-up included)', b.events, b.fromSpawnSeconds.toFixed(2), Math.round(b.events / b.fromSpawnSeconds), '', '', '']);
  }
  if (n) rows.push(['2. per event: naive worker, 1 transaction per event (after first row)', n.measured, n.seconds.toFixed(2), Math.round(n.rate), '', '', '']);
  if (lag) rows.push([`3. lag: publish → hourly_stats at ${lagRate} events/s`, lag.events, lag.publishSeconds.toFixed(2), Math.round(lag.achievedRate), lag.p50.toFixed(0), lag.p99.toFixed(0), lag.max.toFixed(0)]);
  if (c) {
    rows.push([`4. queue ceiling: no-op BullMQ worker process, concurrency ${c.settings.concurrency} (after first completed)`, c.measured, c.seconds.toFixed(2), Math.round(c.rate), '', '', '']);
    rows.push(['   same, counted from the spawn (start-up included)', c.events, c.fromSpawnSeconds.toFixed(2), Math.round(c.events / c.fromSpawnSeconds), '', '', '']);
  }
  console.log('');
  console.log(table(rows));
  if (b && n) console.log(`ratio to per-event = ${Math.round(b.rate)} / ${Math.round(n.rate)} = ${ratio.toFixed(2)}`);
  if (c) {
    const what = `${Math.round(c.rate)} events/s: BullMQ alone, moving jobs through Redis with nothing written`;
    console.log(b ? `batched reaches ${((100 * b.rate) / c.rate).toFixed(1)} % of the queue ceiling (${what})` : `queue ceiling: ${what} (batched not run)`);
  }
  const cpuRow = (label, cpu) => [label, ...['aggregator', 'postgres', 'postgresAll', 'redis', 'bench', 'other', 'machine'].map((key) => (Number.isFinite(cpu[key]) ? `${cpu[key].toFixed(0)}%` : ''))];
  const cpuRows = [[`CPU (% of one core; ${cores} cores)`, 'aggregator', 'postgres (bench db)', 'postgres (all)', 'redis', 'bench process', 'other', 'machine']];
  if (b) cpuRows.push(cpuRow('1. batched, first row → all stored', b.cpu));
  if (n) cpuRows.push(cpuRow('2. per event, first row → all stored', n.cpu));
  if (lag) cpuRows.push(cpuRow('3. lag, publishing start → all stored', lag.cpu));
  if (c) cpuRows.push(cpuRow('4. queue ceiling, first completed → all completed', c.cpu));
  console.log('');
  console.log(table(cpuRows));
  console.log(
    `(${c ? 'aggregator: in 4., the no-op worker process; ' : ''}postgres (bench db): the backends connected to the bench database; postgres (all): every PostgreSQL process, background ones (WAL writer, ` +
      'autovacuum...) and other users\' backends included; redis: redis-server as a whole, other users of it included; bench process: ' +
      'preloading/publishing, polling and, in 2., the per-event worker; other: the rest of the machine)',
  );

  if (b) {
    const t = b.totals;
    console.log(
      `machine share (batched run, hourly_stats): opens ${t.hourly_human_opens} human / ${t.hourly_opens - t.hourly_human_opens} machine (${pct(t.hourly_opens - t.hourly_human_opens, t.hourly_opens)} machine; ` +
        `classifyHit on the stream predicts ${pct(report.predictedMachineOpens, expected.opens)}), clicks ${t.hourly_human_clicks} human / ${t.hourly_clicks - t.hourly_human_clicks} machine ` +
        `(${pct(t.hourly_clicks - t.hourly_human_clicks, t.hourly_clicks)} machine, ${t.burst_clicks} of them as bursts; the click rules on the whole stream predict ` +
        `${report.predictedClicks.machine} machine, ${report.predictedClicks.burst} bursts)`,
    );
    if (t.hourly_opens - t.hourly_human_opens !== report.predictedMachineOpens) {
      console.log(`odd: ${t.hourly_opens - t.hourly_human_opens} machine opens stored, classifyHit predicts ${report.predictedMachineOpens}`);
    }
    if (t.hourly_clicks - t.hourly_human_clicks !== report.predictedClicks.machine || t.burst_clicks !== report.predictedClicks.burst) {
      console.log(`odd: ${t.hourly_clicks - t.hourly_human_clicks} machine clicks (${t.burst_clicks} bursts) stored, the click rules on the whole stream predict ${report.predictedClicks.machine} (${report.predictedClicks.burst} bursts)`);
    }
    if (b.disagreement) console.log(`odd (batched): ${b.disagreement}`);
  }
  if (n && n.disagreement) console.log(`odd (per event): ${n.disagreement}`);
  console.log(
    `\naggregator: ${b ? Math.round(b.rate) : 'n/a'} events/s, ratio to per-event ${b && n ? ratio.toFixed(1) : 'n/a'}, lag p99 ${lag ? Math.round(lag.p99) : 'n/a'} ms at ${lagRate} events/s`,
  );
}

main().catch((error) => {
  console.error(`bench:aggregator: ${error instanceof BenchError ? error.message : error && error.stack ? error.stack : error}`);
  process.exit(1);
});

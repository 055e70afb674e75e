'use strict';
/*
 * npm run bench:tracker
 *
 * Clicks/s and latency of the running tracker, events stored, and, in the same run under the
 * same load, a bare Express app that only redirects. Last line:
 *
 *   tracker: <n> req/s, p99 <ms> ms, ratio to bare express <r>, events lost <k>
 *
 * Tracker: the real process, `node apps/tracker/dist/main.js`, on a free loopback port, with
 * TRACKER_PORT, REDIS_URL (TEST_REDIS_URL, default the local 6379), QUEUE_PREFIX (a unique
 * prefix; every key under it deleted at the end), SPOOL_DIR (a temporary directory, removed at
 * the end), MAILBEACON_SECRET, LOG_LEVEL=warn and IP_STORAGE=truncated set here; anything else
 * comes from this process's environment (QUEUE_TRACKING_EVENTS, TRUST_PROXY...). Ready when
 * /healthz answers 200. Stopped with SIGTERM at the end: it drains its pending events and must
 * exit 0.
 *
 * Bare Express: this same file run as `node bench/tracker.js --bare-express <port>` in a child
 * process (so it gets a core of its own, as the tracker does): an Express 5 app whose only
 * handler is `res.redirect(302, BARE_LOCATION)` for every request.
 *
 * Load: autocannon in this process, BENCH_CONNECTIONS (50) keep-alive connections over
 * loopback, no pipelining, for BENCH_SECONDS (10) per side per round. Every request is a GET
 * of one of 1,000 signed click URLs (20 message tokens x 50 links, each with its own
 * destination), with `Host: click.bench.example`, `X-Postal-Track-Host: 1` and a browser
 * User-Agent; the bare app gets exactly the same requests. Every answer must be a 302
 * (anything else, a socket error or a timeout is an error and fails the run).
 * Before anything is measured, a few clicks are checked by hand (302, Location = the signed
 * destination) and each side is warmed up for BENCH_WARMUP_SECONDS (3).
 *
 * Clean stop of each load run: when the time is up, each connection finishes the request it
 * has in flight and sends no other (a hook on autocannon's clients), so no request is ever cut
 * off with its event stored but its answer uncounted: "answered" is exact. req/s = answers
 * received within the BENCH_SECONDS window / BENCH_SECONDS, the window starting once autocannon
 * has built its clients; the latency percentiles are over every answer of the run but each
 * connection's first (which also waited for the connection and for autocannon to build all its
 * clients; the clean stop adds at most one per connection), in full precision (autocannon's
 * own histogram rounds to whole milliseconds).
 *
 * Rounds: bare, tracker, bare, tracker... (BENCH_ROUNDS (3) of each), so machine noise hits
 * both; medians per side. n = median tracker req/s; r = n / median bare req/s; p99 is the
 * tracker's median round's (the round whose req/s is the median; the lower one when even).
 * The CPU used during each round's window by the server process (all threads, and its main
 * thread alone: /proc), redis-server (INFO cpu) and this process (the load generator) is shown
 * as % of one core (Linux; elsewhere blank). The tracker's rows also show, from its /metrics,
 * the mean server-side click duration and the mean group-commit size over the round.
 *
 * Events lost: the tracking-events queue under the prefix is counted before anything (0: the
 * prefix is new) and after each tracker round (informational: an event whose publish took
 * over the tracker's 2 s timeout may still be landing), and for the verdict after the tracker
 * has stopped: jobs in every state (waiting, active, completed, delayed, failed, prioritized,
 * paused, waiting-children; nothing consumes the queue), plus the events left in the spool
 * file whose job is not in Redis. k = answered - stored, where answered is every 302 the
 * tracker gave in the run (checks, warm-up and rounds, autocannon's per-status counts).
 * Job ids are event ids, so stored > answered would mean events nobody asked for: reported.
 *
 * Environment: BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50),
 * BENCH_WARMUP_SECONDS (3), BENCH_CPU_PROF=<dir> (run the tracker as
 * `node --cpu-prof --cpu-prof-dir=<dir>`, Node 20 refuses --cpu-prof in NODE_OPTIONS, then
 * print its top self-time functions, self time by package, and the top inclusive times; the
 * profile covers the whole life of the process, warm-up and checks included, idle time left
 * out), TEST_REDIS_URL (where Redis is) and the tracker's own variables.
 *
 * Targets (the issue): r >= 0.8, p99 <= 20 ms, k = 0.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { median, table, sleep, envInteger, BenchError, fail, watchChild, stopChild, runCleanups } = require('./support');
const intFromEnv = envInteger('bench:tracker');

const ROOT = path.resolve(__dirname, '..');
const TRACKER_MAIN = path.join(ROOT, 'apps', 'tracker', 'dist', 'main.js');
const TRACKING_HOST = 'click.bench.example';
const SECRET = 'bench-signing-secret-0123456789';
const SERVER_TOKEN = 'bench';
const MESSAGES = 20;
const LINKS_PER_MESSAGE = 50;
/** What the bare app redirects to: as long as a typical destination of the pool. */
const BARE_LOCATION = 'https://www.example.com/articles/2024/spring-collection?utm_source=newsletter&utm_medium=email&utm_campaign=bench';
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const TARGET_RATIO = 0.8;
const TARGET_P99_MS = 20;

/* ------------------------------------------------------------------ helpers */

/** One request over a fresh connection: { status, headers, body }. */
function request(port, { path: urlPath = '/', headers = {}, method = 'GET', timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/* ------------------------------------------------------------------ child processes */

/**
 * Starts a server process. Log lines (pino JSON on stdout) are counted by level and message;
 * stderr is kept for error reports.
 */
function startProcess(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return watchChild(child, { name, reportLevel: 'error' });
}

/** Polls until `check()` is true (the process must stay up), for at most `ms`. */
async function waitUntil(state, what, check, ms) {
  const deadline = performance.now() + ms;
  let last;
  for (;;) {
    if (state.exited) fail(`${state.name} stopped before ${what}\n${state.describe()}`);
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (performance.now() > deadline) fail(`${state.name}: no ${what} within ${ms / 1000} s${last ? ` (${last.message})` : ''}\n${state.describe()}`);
    await sleep(50);
  }
}

/* ------------------------------------------------------------------ CPU accounting */

const CLOCK_TICK_S = 0.01; // USER_HZ is 100 on Linux

/** CPU seconds used by a process, all threads, or by one of its threads (Linux /proc; NaN elsewhere). */
function processCpu(pid, tid) {
  try {
    const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_S; // utime, stime
  } catch {
    return NaN;
  }
}

/** Read at once (the Redis figure a round trip later). */
async function cpuSnapshot(serverPid, redis) {
  const at = performance.now();
  const server = processCpu(serverPid);
  const serverMain = processCpu(serverPid, serverPid);
  const own = process.cpuUsage();
  const info = await redis.info('cpu');
  const field = (name) => Number((info.match(new RegExp(`^${name}:([0-9.]+)`, 'm')) || [])[1] || 0);
  return { server, serverMain, redis: field('used_cpu_user') + field('used_cpu_sys'), bench: (own.user + own.system) / 1e6, at };
}

/** % of one core each used between two snapshots. */
function cpuBetween(before, after) {
  const wall = (after.at - before.at) / 1000;
  const pct = (key) => (100 * (after[key] - before[key])) / wall;
  return { server: pct('server'), serverMain: pct('serverMain'), redis: pct('redis'), bench: pct('bench') };
}

/* ------------------------------------------------------------------ tracker metrics */

/** The samples of a Prometheus text page: name{labels} -> value. */
function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function scrapeTracker(port) {
  const res = await request(port, { path: '/metrics' });
  if (res.status !== 200) fail(`tracker /metrics answered ${res.status}`);
  const samples = parseMetrics(res.body);
  const sum = (prefix) => [...samples].filter(([key]) => key.startsWith(prefix)).reduce((total, [, value]) => total + value, 0);
  return {
    clickDurationSum: samples.get('mailbeacon_tracker_request_duration_seconds_sum{route="click"}') || 0,
    clickDurationCount: samples.get('mailbeacon_tracker_request_duration_seconds_count{route="click"}') || 0,
    batchSum: samples.get('mailbeacon_tracker_event_batch_size_sum') || 0,
    batchCount: samples.get('mailbeacon_tracker_event_batch_size_count') || 0,
    published: sum('mailbeacon_tracker_events_published_total'),
    failures: sum('mailbeacon_tracker_event_failures_total'),
    timeouts: sum('mailbeacon_tracker_publish_timeouts_total'),
    spoolEvents: samples.get('mailbeacon_tracker_spool_events') || 0,
  };
}

/* ------------------------------------------------------------------ CPU profiles */

function frameKey(callFrame) {
  const { functionName, url, lineNumber } = callFrame;
  const where = url ? `${url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? `  ${where}` : ''}`;
}

/** Which package a frame belongs to: a dependency, a workspace, a node: module, or V8/native. */
function packageOf(callFrame) {
  const url = callFrame.url.replace(/^file:\/\//, '');
  if (!url) return callFrame.functionName.startsWith('(') ? callFrame.functionName : '(native/V8 builtins)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return name.startsWith('@mailbeacon/') ? `${name} (workspace)` : name;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  if (url.startsWith(`${ROOT}/`)) return url.slice(ROOT.length + 1).split('/').slice(0, 2).join('/');
  return url;
}

const isIdleFrame = (callFrame) => callFrame.functionName === '(idle)';

/** Self time per function and per package, inclusive time per function (ms). */
function analyseProfile(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children || []) parent.set(child, node.id);
  const self = new Map();
  const packages = new Map();
  const inclusive = new Map();
  let all = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = (profile.timeDeltas[i] || 0) / 1000;
    all += dt;
    if (isIdleFrame(node.callFrame)) {
      idle += dt;
      continue;
    }
    const key = frameKey(node.callFrame);
    self.set(key, (self.get(key) || 0) + dt);
    const pkg = packageOf(node.callFrame);
    packages.set(pkg, (packages.get(pkg) || 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id).callFrame;
      if (frame.functionName === '(root)') continue;
      const k = frameKey(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) || 0) + dt);
    }
  }
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return { all, busy: all - idle, self: sorted(self), packages: sorted(packages), inclusive: sorted(inclusive) };
}

function printProfiles(dir, limit) {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort() : [];
  if (files.length === 0) {
    console.log(`\nno CPU profile was written in ${dir}`);
    return;
  }
  for (const name of files) {
    const file = path.join(dir, name);
    const { all, busy, self, packages, inclusive } = analyseProfile(JSON.parse(fs.readFileSync(file, 'utf8')));
    const line = (ms, key) => `  ${ms.toFixed(0).padStart(8)}  ${((100 * ms) / busy).toFixed(1).padStart(5)}  ${key}`;
    console.log(`\nCPU profile ${file}: ${(all / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (not idle); top self time (% of busy):`);
    console.log(`   self ms      %  function  location`);
    console.log(self.slice(0, limit).map(([key, ms]) => line(ms, key)).join('\n'));
    console.log(`\nself time by package (% of busy):`);
    console.log(packages.slice(0, 20).map(([key, ms]) => line(ms, key)).join('\n'));
    console.log(`\ntop inclusive time (function and everything it called; % of busy):`);
    console.log(inclusive.slice(0, limit).map(([key, ms]) => line(ms, key)).join('\n'));
  }
}

/* ------------------------------------------------------------------ load */

/**
 * One autocannon run of `seconds` against 127.0.0.1:`port` with the pool of requests. When the
 * time is up each connection finishes the request in flight and sends no other.
 */
function runLoad(autocannon, { port, seconds, connections, requests, onStarted, onWindowStart, onWindowEnd }) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 18);
    let answers = 0;
    let timed = 0;
    const seen = new WeakSet();
    let inWindow = 0;
    const statuses = new Map();
    // Set once autocannon has built its clients (50 x 1,000 request buffers: a good fraction of
    // a second, during which nothing is sent); no answer can arrive before.
    let end = Infinity;
    let lastAt = 0;

    const setupClient = (client) => {
      client.on('response', (statusCode, _bytes, responseTime) => {
        const now = performance.now();
        if (timed === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        answers++;
        // A connection's first answer also waited for autocannon to build every client and for
        // the connection to open: not a request's latency on a warm connection; left out.
        if (seen.has(client)) latencies[timed++] = responseTime;
        else seen.add(client);
        statuses.set(statusCode, (statuses.get(statusCode) || 0) + 1);
        lastAt = now;
        if (now < end) inWindow++;
        // Time is up: this listener runs before the client sends its next request, and a
        // client that has made responseMax requests closes instead of sending one.
        else client.responseMax = client.reqsMade;
      });
    };

    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        pipelining: 1,
        // A safety net only: the run ends when every connection has had its last answer.
        duration: seconds + 30,
        timeout: 10,
        requests,
        setupClient,
      },
      (error, result) => {
        clearTimeout(windowTimer);
        if (error) return reject(error);
        const sorted = latencies.subarray(0, timed).sort();
        const pct = (p) => (timed ? sorted[Math.min(timed - 1, Math.ceil((p / 100) * timed) - 1)] : NaN);
        resolve({
          seconds,
          rate: inWindow / seconds,
          answers,
          inWindow,
          drainMs: lastAt - end,
          p50: pct(50),
          p99: pct(99),
          p999: pct(99.9),
          max: timed ? sorted[timed - 1] : NaN,
          statuses,
          autocannonStatuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
          sent: result.requests.sent,
          errors: result.errors,
          timeouts: result.timeouts,
          resets: result.resets,
          mismatches: result.mismatches,
        });
      },
    );
    // The clients are built and have queued their first requests; nothing has reached the
    // wire yet (their sockets connect on the next turn of the event loop): the window starts now.
    end = performance.now() + seconds * 1000;
    if (onWindowStart) onWindowStart();
    const windowTimer = setTimeout(() => onWindowEnd && onWindowEnd(), seconds * 1000);
    if (onStarted) onStarted(instance);
  });
}

/** Checks a load run's answers; returns [302 count, list of problems]. */
function checkLoad(label, run) {
  const problems = [];
  const counted = run.autocannonStatuses['302'] || 0;
  const other = Object.entries(run.autocannonStatuses).filter(([code]) => code !== '302');
  if (other.length) problems.push(`${label}: non-302 answers: ${other.map(([code, n]) => `${n} x ${code}`).join(', ')}`);
  if (run.errors || run.timeouts) problems.push(`${label}: ${run.errors} socket errors, ${run.timeouts} timeouts`);
  if (counted !== (run.statuses.get(302) || 0)) problems.push(`${label}: autocannon counted ${counted} 302s, the bench's own listener ${run.statuses.get(302) || 0}`);
  // Every request sent was answered: none was cut off (its event possibly stored, its answer not counted).
  if (run.sent !== run.answers + run.errors) problems.push(`${label}: ${run.sent} requests sent, ${run.answers} answered, ${run.errors} errors: ${run.sent - run.answers - run.errors} left in flight`);
  return [counted, problems];
}

/* ------------------------------------------------------------------ main */

async function main() {
  const seconds = intFromEnv('BENCH_SECONDS', 10, 1);
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1);
  const connections = intFromEnv('BENCH_CONNECTIONS', 50, 1);
  const warmupSeconds = intFromEnv('BENCH_WARMUP_SECONDS', 3, 0);
  const profileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

  for (const name of ['@mailbeacon/links', '@mailbeacon/testing', '@mailbeacon/tracker', '@mailbeacon/contracts']) {
    try {
      require.resolve(name);
    } catch {
      fail(`cannot load ${name}; build first: npx tsc -b`);
    }
  }
  if (!fs.existsSync(TRACKER_MAIN)) fail(`${path.relative(ROOT, TRACKER_MAIN)} is missing; build first: npx tsc -b`);

  const autocannon = require('autocannon');
  const { keyRing, signLink, messageTokenFor } = require('@mailbeacon/links');
  const { uniquePrefix, freePort, TEST_REDIS_URL } = require('@mailbeacon/testing');
  const { loadTrackerConfig } = require('@mailbeacon/tracker');
  const { jobIdForEvent } = require('@mailbeacon/contracts');
  const { Queue } = require('bullmq');
  const { Redis } = require('ioredis');

  /* ---- the pool of signed click URLs */
  const keys = keyRing(SECRET);
  const links = [];
  for (let m = 0; m < MESSAGES; m++) {
    const messageToken = messageTokenFor(keys, SERVER_TOKEN, `<bench-${m}@bench.example>`);
    for (let i = 0; i < LINKS_PER_MESSAGE; i++) {
      const url = `https://www.example.com/articles/2024/item-${m}-${i}?utm_source=newsletter&utm_medium=email&utm_campaign=bench-${m}`;
      const signed = signLink(keys, { host: TRACKING_HOST }, { server: SERVER_TOKEN, messageToken, linkIndex: i, url });
      links.push({ path: new URL(signed).pathname, url, messageToken, linkIndex: i });
    }
  }
  const headers = { host: TRACKING_HOST, 'x-postal-track-host': '1', 'user-agent': USER_AGENT, accept: '*/*' };
  const requests = links.map((link) => ({ method: 'GET', path: link.path, headers }));

  const cleanups = [];
  let tracker;
  let bare;
  let currentLoad;
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench:tracker: ${signal}: cleaning up`);
    if (currentLoad) currentLoad.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const problems = [];
  const results = { bare: [], tracker: [] };
  let report;
  try {
    /* ---- Redis: a prefix of our own */
    const redisPrefix = uniquePrefix();
    const prefix = redisPrefix.prefix;
    cleanups.push(() => redisPrefix.cleanup());
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    cleanups.push(() => redis.quit());

    /* ---- the spool directory */
    const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbeacon-bench-spool-'));
    cleanups.push(() => fs.rmSync(spoolDir, { recursive: true, force: true }));

    /* ---- the tracker process */
    const trackerPort = await freePort();
    const env = {
      ...process.env,
      TRACKER_PORT: String(trackerPort),
      TRACKER_HOST: '127.0.0.1',
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SPOOL_DIR: spoolDir,
      MAILBEACON_SECRET: SECRET,
      MAILBEACON_PREVIOUS_SECRETS: '',
      LOG_LEVEL: 'warn',
      IP_STORAGE: 'truncated',
    };
    let config;
    try {
      config = loadTrackerConfig(env); // what the tracker will read
    } catch (error) {
      fail(`bad tracker configuration:\n${error.message}`);
    }
    const events = new Queue(config.trackingEventsQueue, { connection: redis, prefix });
    cleanups.push(() => events.close());
    const JOB_STATES = ['waiting', 'active', 'completed', 'delayed', 'failed', 'prioritized', 'paused', 'waiting-children'];
    const countJobs = async () => {
      const counts = await events.getJobCounts(...JOB_STATES);
      return { total: Object.values(counts).reduce((a, b) => a + b, 0), counts };
    };
    const jobsBefore = (await countJobs()).total;

    // Node 20 refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.
    const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
    tracker = startProcess('tracker', [...nodeFlags, TRACKER_MAIN], env);
    cleanups.push(async () => {
      if (!tracker.exited) await stopChild(tracker, 15_000);
    });
    await waitUntil(tracker, '/healthz 200', async () => (await request(trackerPort, { path: '/healthz', timeoutMs: 500 })).status === 200, 20_000);

    /* ---- the bare Express process */
    const barePort = await freePort();
    bare = startProcess('bare express', [__filename, '--bare-express', String(barePort)], { ...process.env });
    cleanups.push(async () => {
      if (!bare.exited) await stopChild(bare, 5_000);
    });
    await waitUntil(bare, 'redirect', async () => (await request(barePort, { path: '/', timeoutMs: 500 })).status === 302, 20_000);

    /* ---- checks by hand: the tracker redirects each kind of link where it was signed to */
    let trackerAnswered = 0;
    for (const link of [links[0], links[links.length - 1], links[517]]) {
      const res = await request(trackerPort, { path: link.path, headers });
      if (res.status !== 302 || res.headers.location !== link.url) {
        fail(`tracker check: GET ${link.path} answered ${res.status} Location ${res.headers.location}, expected 302 to ${link.url}\n${tracker.describe()}`);
      }
      trackerAnswered++;
    }
    {
      const res = await request(barePort, { path: links[0].path, headers });
      if (res.status !== 302 || res.headers.location !== BARE_LOCATION) fail(`bare express check: answered ${res.status} Location ${res.headers.location}`);
    }
    const checkAnswers = trackerAnswered;

    const load = (port, onWindowStart, onWindowEnd) =>
      runLoad(autocannon, {
        port,
        seconds,
        connections,
        requests,
        onStarted: (instance) => {
          currentLoad = instance;
        },
        onWindowStart,
        onWindowEnd,
      });

    /* ---- warm-up: each side, answers checked (a misconfiguration fails here, not after a minute) */
    let warmupAnswered = 0;
    if (warmupSeconds > 0) {
      for (const [label, port] of [
        ['warm-up bare', barePort],
        ['warm-up tracker', trackerPort],
      ]) {
        const run = await runLoad(autocannon, { port, seconds: warmupSeconds, connections, requests, onStarted: (i) => (currentLoad = i) });
        const [counted, bad] = checkLoad(label, run);
        if (port === trackerPort) warmupAnswered = counted;
        if (bad.length) fail(`${bad.join('\n')}${port === trackerPort ? `\n${tracker.describe()}` : ''}`);
        if (interrupted) fail('interrupted');
      }
      trackerAnswered += warmupAnswered;
    }

    /* ---- measured rounds: bare, tracker, bare, tracker... */
    let jobsSoFar = (await countJobs()).total;
    for (let round = 0; round < rounds; round++) {
      for (const side of ['bare', 'tracker']) {
        if (interrupted) fail('interrupted');
        const proc = side === 'bare' ? bare : tracker;
        const port = side === 'bare' ? barePort : trackerPort;
        const metricsBefore = side === 'tracker' ? await scrapeTracker(trackerPort) : undefined;
        // CPU over the measured window only (not the clean stop nor autocannon's last tick).
        let cpu0;
        let cpu1;
        const run = await load(
          port,
          () => (cpu0 = cpuSnapshot(proc.child.pid, redis)),
          () => (cpu1 = cpuSnapshot(proc.child.pid, redis)),
        );
        [cpu0, cpu1] = await Promise.all([cpu0, cpu1 || cpuSnapshot(proc.child.pid, redis)]);
        if (proc.exited) fail(`${proc.name} stopped during round ${round + 1}\n${proc.describe()}`);
        const [counted, bad] = checkLoad(`round ${round + 1} ${side}`, run);
        problems.push(...bad);
        run.answered302 = counted;
        run.cpu = cpuBetween(cpu0, cpu1);
        if (side === 'tracker') {
          trackerAnswered += counted;
          const metricsAfter = await scrapeTracker(trackerPort);
          const delta = (key) => metricsAfter[key] - metricsBefore[key];
          run.serverMeanMs = (1000 * delta('clickDurationSum')) / Math.max(1, delta('clickDurationCount'));
          run.meanBatch = delta('batchSum') / Math.max(1, delta('batchCount'));
          run.publishTimeouts = delta('timeouts');
          run.eventFailures = delta('failures');
          const jobsNow = (await countJobs()).total;
          run.stored = jobsNow - jobsSoFar;
          jobsSoFar = jobsNow;
        }
        results[side].push(run);
        console.error(
          `  round ${round + 1}/${rounds} ${side.padEnd(7)}: ${Math.round(run.rate)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms` +
            (side === 'tracker' ? `, ${run.stored} events stored for ${counted} clicks` : ''),
        );
      }
    }

    /* ---- metrics of the whole run, then stop the tracker: SIGTERM, it drains, exit 0 */
    const finalMetrics = await scrapeTracker(trackerPort);
    const trackerExit = await stopChild(tracker, 30_000);
    if (trackerExit.code !== 0) problems.push(`the tracker did not stop cleanly on SIGTERM (exit code ${trackerExit.code}, signal ${trackerExit.signal})\n${tracker.describe()}`);
    await stopChild(bare, 5_000);

    /* ---- events stored: jobs in every state, plus spooled events whose job is not in Redis */
    const jobsAfter = await countJobs();
    const spoolFile = path.join(spoolDir, 'tracking-events.spool');
    const spoolLines = fs.existsSync(spoolFile) ? fs.readFileSync(spoolFile, 'utf8').split('\n').filter((line) => line.trim()) : [];
    let spooledOnly = 0;
    let spoolUnreadable = 0;
    for (let i = 0; i < spoolLines.length; i += 500) {
      const chunk = [];
      for (const line of spoolLines.slice(i, i + 500)) {
        try {
          chunk.push(jobIdForEvent(JSON.parse(line).id));
        } catch {
          spoolUnreadable++;
        }
      }
      if (chunk.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const id of chunk) pipeline.exists(events.toKey(id));
      for (const [error, exists] of await pipeline.exec()) if (error || !exists) spooledOnly++;
    }
    const rejectedFile = `${spoolFile}.rejected`;
    const rejectedLines = fs.existsSync(rejectedFile) ? fs.readFileSync(rejectedFile, 'utf8').split('\n').filter((line) => line.trim()).length : 0;
    if (spoolUnreadable || rejectedLines) problems.push(`spool: ${spoolUnreadable} unreadable lines, ${rejectedLines} lines set aside in ${path.basename(rejectedFile)}`);

    // One stored event, checked against the contract's shape and the request that made it.
    const [sample] = await events.getJobs(['waiting'], 0, 0);
    let sampleCheck = 'no job to check';
    if (sample) {
      const e = sample.data;
      const link = links.find((l) => l.messageToken === e.messageToken && l.linkIndex === e.linkIndex);
      const ok =
        e.type === 'click' && e.server === SERVER_TOKEN && link && e.url === link.url && e.ip === '127.0.0.0' && e.userAgent === USER_AGENT && e.method === 'GET' && sample.id === jobIdForEvent(e.id);
      sampleCheck = ok ? `job ${sample.id}: click, server ${e.server}, link ${e.linkIndex}, ip ${e.ip}, ${e.method}: as requested` : `job ${sample.id} does not match its request: ${JSON.stringify(e)}`;
      if (!ok) problems.push(`stored event check: ${sampleCheck}`);
    }

    const stored = jobsAfter.total - jobsBefore + spooledOnly;
    const lost = trackerAnswered - stored;
    if (lost > 0) problems.push(`${lost} events lost: the tracker answered ${trackerAnswered} clicks with 302, ${stored} events are stored`);
    if (lost < 0) problems.push(`${-lost} more events stored than clicks answered (${stored} stored, ${trackerAnswered} answered): events nobody asked for`);

    report = {
      config,
      trackerPort,
      barePort,
      nodeFlags,
      trackerExit,
      jobsBefore,
      jobsAfter,
      spoolLines: spoolLines.length,
      spooledOnly,
      stored,
      lost,
      trackerAnswered,
      checkAnswers,
      warmupAnswered,
      finalMetrics,
      sampleCheck,
      logs: [...tracker.logs].sort((a, b) => b[1] - a[1]),
      bareLogs: bare.stderr.trim(),
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const cleanupProblems = await runCleanups(cleanups);
    if (cleanupProblems.length) {
      console.error(`bench:tracker: cleanup problems:\n  ${cleanupProblems.join('\n  ')}`);
      process.exitCode = 1;
    }
  }

  /* ---- report */
  const cores = os.availableParallelism();
  const f2 = (ms) => ms.toFixed(2);
  const pctCell = (value) => (Number.isFinite(value) ? `${value.toFixed(0)}%` : '');
  console.log(
    `tracker: node ${report.nodeFlags.map((flag) => `${flag} `).join('')}${path.relative(ROOT, TRACKER_MAIN)} on 127.0.0.1:${report.trackerPort}, ` +
      `IP_STORAGE=${report.config.ipStorage} LOG_LEVEL=${report.config.logLevel} TRUST_PROXY=${report.config.trustProxy === false ? 'false' : report.config.trustProxy.join(',')}, ` +
      `queue ${report.config.queuePrefix}:${report.config.trackingEventsQueue} on ${report.config.redisUrl}; stopped by SIGTERM, exit ${report.trackerExit.code}`,
  );
  console.log(`bare: Express ${require('express/package.json').version} child process on 127.0.0.1:${report.barePort}, every request res.redirect(302, <fixed URL>)`);
  console.log(`machine: ${cores} cores (${os.cpus()[0].model}); Node ${process.version}; autocannon ${require('autocannon/package.json').version} in this process (the load generator shares the machine)`);
  console.log(
    `load: ${connections} connections, keep-alive, no pipelining, ${seconds} s per side per round, ${rounds} rounds (bare, tracker alternating), warm-up ${warmupSeconds} s per side; ` +
      `GET of ${requests.length} signed click URLs (${MESSAGES} messages x ${LINKS_PER_MESSAGE} links) with X-Postal-Track-Host: 1; each run stops cleanly (no request cut off)`,
  );
  if (report.logs.length) console.log(`tracker log (level ≥ warn), whole run:\n  ${report.logs.map(([k, n]) => `${n} x ${k}`).join('\n  ')}`);
  console.log('');
  const rows = [['side', 'round', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', '302s', 'errors', 'events stored', 'server CPU', 'main thread', 'redis CPU', 'loadgen CPU', 'click mean (server) ms', 'mean batch']];
  for (let round = 0; round < rounds; round++) {
    for (const side of ['bare', 'tracker']) {
      const run = results[side][round];
      const errors = run.answers - run.answered302 + run.errors + run.timeouts;
      rows.push([
        side === 'bare' ? 'bare express' : 'tracker',
        round + 1,
        Math.round(run.rate),
        f2(run.p50),
        f2(run.p99),
        f2(run.p999),
        f2(run.max),
        run.answered302,
        errors,
        side === 'tracker' ? run.stored : '',
        pctCell(run.cpu.server),
        pctCell(run.cpu.serverMain),
        pctCell(run.cpu.redis),
        pctCell(run.cpu.bench),
        side === 'tracker' ? f2(run.serverMeanMs) : '',
        side === 'tracker' ? run.meanBatch.toFixed(1) : '',
      ]);
    }
  }
  const medianOf = (side, key) => median(results[side].map((run) => run[key]));
  const bareRate = medianOf('bare', 'rate');
  const trackerRate = medianOf('tracker', 'rate');
  // The tracker's median round: the one whose req/s is the median (the lower one when even).
  const byRate = [...results.tracker].sort((a, b) => a.rate - b.rate);
  const medianRound = byRate[(byRate.length - 1) >> 1];
  const bareByRate = [...results.bare].sort((a, b) => a.rate - b.rate);
  const bareMedianRound = bareByRate[(bareByRate.length - 1) >> 1];
  rows.push(['bare express', 'median', Math.round(bareRate), f2(medianOf('bare', 'p50')), f2(medianOf('bare', 'p99')), f2(medianOf('bare', 'p999')), '', '', '', '', '', '', '', '', '', '']);
  rows.push(['tracker', 'median', Math.round(trackerRate), f2(medianOf('tracker', 'p50')), f2(medianOf('tracker', 'p99')), f2(medianOf('tracker', 'p999')), '', '', '', '', '', '', '', '', '', '']);
  console.log(table(rows));
  console.log(
    `(CPU: % of one core over the measured window; ${cores} cores in all; server CPU: all its threads (GC helpers included), main thread: the event loop's alone. click mean (server): mailbeacon_tracker_request_duration_seconds{route="click"}, publishing included. ` +
      `mean batch: events per group commit. Latencies and req/s measured by the load generator.)`,
  );

  const m = report.finalMetrics;
  console.log('');
  console.log(
    `events: tracker answered ${report.trackerAnswered} clicks with 302 (${report.checkAnswers} checks + ${report.warmupAnswered} warm-up + ${report.trackerAnswered - report.checkAnswers - report.warmupAnswered} in rounds); ` +
      `queue ${report.config.trackingEventsQueue} held ${report.jobsBefore} jobs before, ${report.jobsAfter.total} after the tracker stopped ` +
      `(${Object.entries(report.jobsAfter.counts).filter(([, n]) => n).map(([state, n]) => `${state} ${n}`).join(', ') || 'none'}); ` +
      `spool: ${report.spoolLines} events left, ${report.spooledOnly} of them not in Redis; stored ${report.stored}; lost ${report.lost}`,
  );
  console.log(
    `tracker metrics (whole run): ${m.published} events published, ${m.failures} event failures, ${m.timeouts} publish timeouts, ` +
      `${m.batchCount} group commits (mean ${(m.batchSum / Math.max(1, m.batchCount)).toFixed(1)} events), spool ${m.spoolEvents} events at the end of the rounds`,
  );
  console.log(`stored event check: ${report.sampleCheck}`);

  const ratio = trackerRate / bareRate;
  const p99 = medianRound.p99;
  console.log('');
  console.log(
    `ratio to bare express = median tracker req/s / median bare req/s = ${Math.round(trackerRate)} / ${Math.round(bareRate)} = ${ratio.toFixed(3)} (target ≥ ${TARGET_RATIO}); ` +
      `tracker p99 (median round) ${f2(p99)} ms (target ≤ ${TARGET_P99_MS} ms), bare express p99 (median round) ${f2(bareMedianRound.p99)} ms; events lost ${report.lost} (target 0)`,
  );
  const misses = [];
  if (ratio < TARGET_RATIO) misses.push(`r ${ratio.toFixed(2)} < ${TARGET_RATIO}`);
  if (p99 > TARGET_P99_MS) misses.push(`p99 ${f2(p99)} ms > ${TARGET_P99_MS} ms`);
  if (misses.length) console.log(`targets missed: ${misses.join(', ')}`);
  if (profileDir) printProfiles(profileDir, 25);
  if (problems.length) {
    console.log(`\nPROBLEMS:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
  console.log(`\ntracker: ${Math.round(trackerRate)} req/s, p99 ${p99.toFixed(1)} ms, ratio to bare express ${ratio.toFixed(2)}, events lost ${report.lost}`);
}

/* ------------------------------------------------------------------ entry: the bench, or the bare Express child */

/** The baseline: an Express 5 app that answers every request with a 302 to a fixed URL, nothing else. */
function bareExpressMain(port) {
  const express = require('express');
  const app = express();
  app.use((req, res) => {
    res.redirect(302, BARE_LOCATION);
  });
  const server = app.listen(port, '127.0.0.1', (error) => {
    if (error) {
      console.error(`bare express: cannot listen on 127.0.0.1:${port}: ${error.message}`);
      process.exit(1);
    }
  });
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

if (process.argv[2] === '--bare-express') {
  bareExpressMain(Number(process.argv[3]));
} else {
  main().catch((error) => {
    console.error(`bench:tracker: ${error instanceof BenchError ? error.message : error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
}

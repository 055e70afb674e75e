'use strict';
/*
 * npm run bench:rewriter
 *
 * Messages/s through the running rewrite worker (enqueue → `outbound-ready`) for the corpus,
 * and, in the same run on the same messages, the bare engine's rate. Last line:
 *
 *   rewriter: <n> msgs/s, ratio to bare engine <r>
 *
 * Setup: a throw-away database (mailbeacon_bench_<random>, dropped at the end even on
 * failure) holding one server and one tracking domain, click.bench.example; a unique BullMQ
 * prefix (every key under it deleted at the end). Every job names
 * `trackingDomain: 'click.bench.example'`, so every corpus message is tracked whatever its
 * From domain (except the ones the corpus expects untracked: DKIM-signed, signed, X-AMP: skip).
 *
 * Workload: the corpus messages of bench/corpus.js (eml files, html files wrapped as
 * messages), repeated in order to BENCH_MESSAGES messages, each pass with fresh message ids.
 *
 * Worker: the real process, `node apps/rewriter/dist/main.js`, with DATABASE_URL, REDIS_URL,
 * QUEUE_PREFIX, MAILBEACON_SECRET and LOG_LEVEL=warn set here; anything else comes from this
 * process's environment, so REWRITER_THREADS, REWRITER_CONCURRENCY... can be tuned from the
 * command line (the settings in effect are printed, as the worker's own config loader reads
 * them). It is warmed up with BENCH_WARMUP messages before anything is measured, and stopped
 * with SIGTERM at the end (it must exit 0).
 *
 * Worker pass: the clock starts at the first enqueue; messages are enqueued with
 * MailbeaconClient.enqueueMessages in batches of BENCH_BATCH (awaited one after the other,
 * base64 and validation included: that is the platform's side of the pipeline), and the
 * clock stops when the outbound-ready queue holds them all. Nobody consumes outbound-ready:
 * its `wait` count is polled (getJobCounts, every 10 ms) through a BullMQ Queue with the same
 * prefix, so no consumer competes with the worker for the CPU. After the clock stops, the
 * pass is checked: every enqueued id is on outbound-ready exactly once with its own message
 * id, its outbound job was started once (no retry, no stall) and completed, nothing failed;
 * each message is tracked or skipped as the bare engine does it (same skip code, same number
 * of links, same pixel), and skips are only the corpus's expected ones. Then the queues are
 * emptied for the next pass.
 *
 * Bare pass: rewriteMessage(raw, { trackingDomain, server, keys }) on the same messages,
 * sequentially in this process (one core, nothing else running: the worker is idle then).
 *
 * Rounds: bare, worker, bare, worker, ..., bare (BENCH_ROUNDS worker passes, one more bare
 * pass), so machine noise hits both; medians per side. r = median worker msgs/s / median
 * bare msgs/s.
 *
 * Where the time goes: during each worker pass the CPU time of the worker's threads (main,
 * rewrite threads, the rest) is read from /proc, redis-server's from INFO cpu and this
 * process's from process.cpuUsage(), for the whole pass and for its two phases (while
 * enqueueing, after); with the CPU per message this gives the best rate the machine could
 * reach if every core were busy. (Linux; elsewhere the table is left out.)
 *
 * Environment: BENCH_MESSAGES (2000), BENCH_ROUNDS (3), BENCH_BATCH (500),
 * BENCH_WARMUP (= BENCH_MESSAGES), BENCH_STALL_SECONDS (60: give up when outbound-ready does
 * not grow for this long), BENCH_CPU_PROF=<dir> (run the worker as
 * `node --cpu-prof --cpu-prof-dir=<dir>` (Node 20 refuses --cpu-prof in NODE_OPTIONS), then
 * print the top self-time functions of each of its threads; the profiles cover the whole
 * life of the process, warm-up included), MAILBEACON_CORPUS, TEST_POSTGRES_URL and
 * TEST_REDIS_URL (where Postgres and Redis are; local defaults), and the worker's variables.
 */
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { median, table, sleep, envInteger, BenchError, fail, watchChild, stopChild, runCleanups } = require('./support');
const intFromEnv = envInteger('bench:rewriter');

const ROOT = path.resolve(__dirname, '..');
const WORKER_MAIN = path.join(ROOT, 'apps', 'rewriter', 'dist', 'main.js');
const TRACKING_DOMAIN = 'click.bench.example';
const SECRET = 'bench-signing-secret-0123456789';
/** Skip codes (`code: explanation`) that some corpus files are expected to get (as in bench/rewrite.js). */
const EXPECTED_SKIPS = new Set(['dkim-signed', 'signed', 'x-amp', 'x-amp-skip']);
const POLL_MS = 10;

const skipCode = (skipped) => (skipped === undefined ? undefined : skipped.split(':')[0].trim());

/* ------------------------------------------------------------------ the worker process */

/**
 * Starts `node apps/rewriter/dist/main.js`. Its log lines (pino JSON on stdout) are counted
 * by level and message (and note); stderr is kept for error reports.
 */
function startWorkerProcess(env, nodeFlags) {
  const child = spawn(process.execPath, [...nodeFlags, WORKER_MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return watchChild(child, {
    name: 'worker',
    logKey: (entry, level) => `${level}: ${entry.msg}${entry.note ? ` (${String(entry.note).slice(0, 140)})` : ''}${entry.err ? ` (${entry.err.message})` : ''}`,
    reportLevel: 'error',
    reportStdout: false,
  });
}

/* ------------------------------------------------------------------ CPU accounting */

const CLOCK_TICK_S = 0.01; // USER_HZ is 100 on Linux

/** CPU seconds per thread of a process (Linux /proc; empty elsewhere). */
function threadCpu(pid) {
  const threads = new Map();
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_S); // utime, stime
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return threads;
}

/** CPU time used so far by the worker's threads, this process and redis-server. */
async function cpuSnapshot(workerPid, redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number((info.match(new RegExp(`^${name}:([0-9.]+)`, 'm')) || [])[1] || 0);
  const own = process.cpuUsage();
  return { worker: threadCpu(workerPid), bench: (own.user + own.system) / 1e6, redis: field('used_cpu_user') + field('used_cpu_sys') };
}

/**
 * The rewrite threads: after the warm-up, the REWRITER_THREADS threads other than the main one
 * that used the most CPU (they did all the rewriting; V8's helpers used far less).
 */
function rewriteThreadIds(snapshot, workerPid, rewriteThreads) {
  return new Set([...snapshot.worker].filter(([tid]) => tid !== workerPid).sort((a, b) => b[1] - a[1]).slice(0, rewriteThreads).map(([tid]) => tid));
}

/**
 * CPU seconds between two snapshots: the worker's main thread, its rewrite threads, its other
 * threads (V8 helpers: GC, compiler; libuv), redis-server, this process (enqueueing, polling).
 */
function cpuBetween(before, after, workerPid, rewriteTids) {
  const split = { main: 0, rewrite: 0, helpers: 0 };
  for (const [tid, s] of after.worker) {
    const delta = s - (before.worker.get(tid) || 0);
    split[tid === workerPid ? 'main' : rewriteTids.has(tid) ? 'rewrite' : 'helpers'] += delta;
  }
  return { ...split, redis: after.redis - before.redis, bench: after.bench - before.bench };
}

/* ------------------------------------------------------------------ CPU profiles */

/** Self time per function in one .cpuprofile (ms), biggest first. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = (profile.timeDeltas[i] || 0) / 1000;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where ? `  ${where}` : ''}`;
    totals.set(key, (totals.get(key) || 0) + dt);
    all += dt;
  }
  return { all, top: [...totals].sort((a, b) => b[1] - a[1]) };
}

function printProfiles(dir, limit) {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort() : [];
  if (files.length === 0) {
    console.log(`\nno CPU profile was written in ${dir}`);
    return;
  }
  for (const name of files) {
    const { all, top } = selfTimes(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')));
    // A piscina thread waiting for its next task sits in atomicsWaitLoop (Atomics.wait): idle too.
    const isIdle = (key) => key.startsWith('(idle)') || key.startsWith('atomicsWaitLoop ');
    const idle = top.filter(([key]) => isIdle(key)).reduce((sum, [, ms]) => sum + ms, 0);
    const busy = all - idle;
    console.log(`\nCPU profile ${path.join(dir, name)}: ${(all / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (not idle, not waiting for a task); top self time (% of busy):`);
    const rows = [['self ms', '%', 'function  location']];
    for (const [key, ms] of top.filter(([k]) => !isIdle(k)).slice(0, limit)) rows.push([ms.toFixed(0), ((100 * ms) / busy).toFixed(1), key]);
    console.log(rows.map((row) => `  ${row[0].padStart(8)}  ${row[1].padStart(5)}  ${row[2]}`).join('\n'));
  }
}

/* ------------------------------------------------------------------ main */

async function main() {
  const count = intFromEnv('BENCH_MESSAGES', 2000, 1);
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1);
  const batchSize = intFromEnv('BENCH_BATCH', 500, 1);
  const warmupCount = intFromEnv('BENCH_WARMUP', count, 1);
  const stallMs = intFromEnv('BENCH_STALL_SECONDS', 60, 1) * 1000;
  const profileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

  // Clear failures first: a missing corpus or build.
  const { checkedCorpusDir, loadWorkload } = require('./corpus');
  const dir = checkedCorpusDir(fail);
  for (const name of ['@mailbeacon/client', '@mailbeacon/contracts', '@mailbeacon/db', '@mailbeacon/rewrite', '@mailbeacon/links', '@mailbeacon/testing', '@mailbeacon/rewriter']) {
    try {
      require.resolve(name);
    } catch {
      fail(`cannot load ${name}; build first: npx tsc -b`);
    }
  }
  if (!fs.existsSync(WORKER_MAIN)) fail(`${path.relative(ROOT, WORKER_MAIN)} is missing; build first: npx tsc -b`);

  const { MailbeaconClient } = require('@mailbeacon/client');
  const { openDatabase, ServerRepository, TrackingDomainRepository } = require('@mailbeacon/db');
  const { rewriteMessage } = require('@mailbeacon/rewrite');
  const { keyRing } = require('@mailbeacon/links');
  const { dropDatabase, uniquePrefix, TEST_POSTGRES_URL, TEST_REDIS_URL } = require('@mailbeacon/testing');
  const { loadRewriterConfig } = require('@mailbeacon/rewriter');
  const { jobIdForMessage } = require('@mailbeacon/contracts');
  const { Queue } = require('bullmq');
  const { Redis } = require('ioredis');

  const workload = await loadWorkload(dir);
  const corpus = workload.messages;
  const keys = keyRing(SECRET);

  // Everything to undo, undone in `finally` whatever happens.
  const cleanups = [];
  let worker;
  let interrupted = false;
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench:rewriter: ${signal}: cleaning up`);
    if (worker && !worker.exited) worker.child.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results = { bare: [], worker: [], enqueue: [], cpu: [], phases: [] };
  let settings;
  let logSummary;
  let workerExit;
  try {
    /* ---- database: one server, one tracking domain */
    const dbName = `mailbeacon_bench_${randomBytes(6).toString('hex')}`;
    const dbUrl = new URL(TEST_POSTGRES_URL);
    dbUrl.pathname = `/${dbName}`;
    cleanups.push(() => dropDatabase(dbName));
    const db = await openDatabase(dbUrl.toString(), { maxConnections: 2 });
    cleanups.push(() => db.destroy());
    const server = await new ServerRepository(db).create('bench');
    await new TrackingDomainRepository(db).add({ host: TRACKING_DOMAIN, server: server.token });

    /* ---- Redis: a prefix of our own, the client and the queues it watches */
    const redisPrefix = uniquePrefix();
    const prefix = redisPrefix.prefix;
    cleanups.push(() => redisPrefix.cleanup());
    const client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix });
    cleanups.push(() => client.close());
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    cleanups.push(() => redis.quit());
    const queue = (name) => {
      const q = new Queue(name, { connection: redis, prefix });
      cleanups.push(() => q.close());
      return q;
    };

    /* ---- the worker process */
    const env = {
      ...process.env,
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      MAILBEACON_SECRET: SECRET,
      MAILBEACON_PREVIOUS_SECRETS: '',
      LOG_LEVEL: 'warn',
    };
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: it goes on the command line (worker threads inherit it).
    const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
    let config; // what the worker will read
    try {
      config = loadRewriterConfig(env);
    } catch (error) {
      fail(`bad worker configuration:\n${error.message}`);
    }
    const outbound = queue(config.QUEUE_OUTBOUND_MESSAGES);
    const ready = queue(config.QUEUE_OUTBOUND_READY);
    const events = queue(config.QUEUE_TRACKING_EVENTS);
    settings = {
      REWRITER_THREADS: config.REWRITER_THREADS,
      REWRITER_CONCURRENCY: config.REWRITER_CONCURRENCY,
      LOG_LEVEL: config.LOG_LEVEL,
      cores: os.availableParallelism(),
      nodeFlags,
    };
    worker = startWorkerProcess(env, nodeFlags);
    cleanups.push(async () => {
      if (!worker.exited) await stopChild(worker, 10_000);
    });

    /** The messages of one pass: the corpus repeated in order, fresh ids. */
    const runId = randomBytes(4).toString('hex');
    const messagesFor = (label, n) =>
      Array.from({ length: n }, (_, i) => {
        const source = corpus[i % corpus.length];
        return { source, message: { messageId: `<${runId}.${label}.${i}@bench.example>`, server: server.token, raw: source.raw, trackingDomain: TRACKING_DOMAIN } };
      });

    /** Waits until outbound-ready's wait list holds `target` jobs; the time it got there. */
    const waitForReady = async (target) => {
      let seen = -1;
      let progressAt = performance.now();
      for (;;) {
        const [{ wait }, { failed }] = await Promise.all([ready.getJobCounts('wait'), outbound.getJobCounts('failed')]);
        const now = performance.now();
        if (wait >= target) return now;
        if (interrupted) fail('interrupted');
        if (worker.exited) fail(`the worker stopped during the run\n${worker.describe()}`);
        if (failed > 0) {
          const [job] = await outbound.getFailed(0, 0);
          fail(`${failed} rewrite job(s) failed, e.g. ${job && job.id}: ${job && job.failedReason}\n${worker.describe()}`);
        }
        if (wait !== seen) {
          seen = wait;
          progressAt = now;
        } else if (now - progressAt > stallMs) {
          fail(`outbound-ready stuck at ${wait} of ${target} jobs for ${stallMs / 1000} s\n${worker.describe()}`);
        }
        await sleep(POLL_MS);
      }
    };

    /** Enqueues in batches and waits for them all on outbound-ready; times from the first enqueue. */
    const workerPass = async (items) => {
      const snapshot = () => cpuSnapshot(worker.child.pid, redis);
      const cpu0 = await snapshot();
      const start = performance.now();
      for (let i = 0; i < items.length; i += batchSize) await client.enqueueMessages(items.slice(i, i + batchSize).map((item) => item.message));
      const enqueued = performance.now();
      const [readyCounts, cpu1] = await Promise.all([ready.getJobCounts('wait'), snapshot()]);
      const done = await waitForReady(items.length);
      const cpu2 = await snapshot();
      return { ms: done - start, enqueueMs: enqueued - start, readyAtEnqueued: readyCounts.wait, cpu: [cpu0, cpu1, cpu2] };
    };

    /** What the bare engine does with each corpus message (the reference for the worker's results). */
    const bareOptions = { trackingDomain: TRACKING_DOMAIN, server: server.token, keys };
    const expected = new Map();
    const unexpected = [];
    for (const m of corpus) {
      const result = await rewriteMessage(m.raw, bareOptions);
      const code = skipCode(result.skipped);
      if (code !== undefined && !EXPECTED_SKIPS.has(code)) unexpected.push(`${m.name}: ${result.skipped}`);
      expected.set(m, { skip: code, links: result.links.length, pixel: result.pixel });
    }
    if (unexpected.length) fail(`the bare engine skipped corpus messages for an unexpected reason:\n  ${unexpected.join('\n  ')}`);

    const barePass = async (items) => {
      const start = performance.now();
      for (const item of items) await rewriteMessage(item.source.raw, bareOptions);
      return performance.now() - start;
    };

    /** Checks a finished worker pass, then empties the queues for the next one. */
    const verifyAndClear = async (items) => {
      const problems = [];
      // A job's ready message lands just before the job itself is marked completed: give the
      // last few a moment (outside the timed window) before counting.
      let counts = await outbound.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
      for (let i = 0; i < 100 && counts.active > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        counts = await outbound.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
      }
      if (counts.completed !== items.length || counts.failed || counts.wait || counts.active || counts.delayed) {
        problems.push(`outbound-messages: ${JSON.stringify(counts)}, expected ${items.length} completed and nothing else`);
      }
      const readyCount = (await ready.getJobCounts('wait')).wait;
      if (readyCount !== items.length) problems.push(`outbound-ready holds ${readyCount} jobs, expected ${items.length}`);
      let tracked = 0;
      const skips = new Map();
      const CHUNK = 100;
      for (let i = 0; i < items.length && problems.length < 20; i += CHUNK) {
        const chunk = items.slice(i, i + CHUNK);
        const pipeline = redis.pipeline();
        for (const { message } of chunk) {
          const id = jobIdForMessage(message.messageId);
          pipeline.hget(ready.toKey(id), 'data');
          pipeline.hmget(outbound.toKey(id), 'ats', 'stc', 'finishedOn');
        }
        const replies = await pipeline.exec();
        chunk.forEach((item, j) => {
          const [[e1, data], [e2, fields]] = [replies[2 * j], replies[2 * j + 1]];
          const name = `${item.message.messageId} (${item.source.name})`;
          if (e1 || e2) return problems.push(`${name}: ${(e1 || e2).message}`);
          if (data === null) return problems.push(`${name}: not on outbound-ready`);
          const [ats, stc, finishedOn] = fields;
          if (ats !== '1' || (stc && stc !== '0') || !finishedOn) problems.push(`${name}: outbound job started ${ats} time(s), stalled ${stc || 0}, finished ${finishedOn ? 'yes' : 'no'}`);
          const job = JSON.parse(data);
          if (job.messageId !== item.message.messageId) return problems.push(`${name}: outbound-ready job carries message id ${job.messageId}`);
          const want = expected.get(item.source);
          const code = skipCode(job.skipped);
          if (code !== undefined) skips.set(code, (skips.get(code) || 0) + 1);
          if (code !== want.skip) return problems.push(`${name}: skipped ${JSON.stringify(job.skipped)}, the bare engine ${want.skip ? `skips it (${want.skip})` : 'tracks it'}`);
          if (code === undefined) {
            tracked++;
            if (!job.tracked || job.tracked.links !== want.links || job.tracked.pixel !== want.pixel) {
              problems.push(`${name}: tracked ${JSON.stringify(job.tracked)}, the bare engine gives ${want.links} links, pixel ${want.pixel}`);
            }
          }
        });
      }
      const eventCount = (await events.getJobCounts('wait')).wait;
      if (problems.length === 0 && eventCount !== tracked) problems.push(`tracking-events holds ${eventCount} message events, expected ${tracked}`);
      if (problems.length) fail(`worker pass check failed:\n  ${problems.slice(0, 20).join('\n  ')}\n${worker.describe()}`);
      await Promise.all([ready.drain(), events.drain(), outbound.clean(0, 0, 'completed')]);
      return { tracked, skips };
    };

    /* ---- warm-up: the worker (and proof it is up), then the bare engine */
    const warmStart = performance.now();
    const warmItems = messagesFor('warmup', warmupCount);
    const warm = await workerPass(warmItems);
    await verifyAndClear(warmItems);
    const rewriteTids = rewriteThreadIds(warm.cpu[2], worker.child.pid, settings.REWRITER_THREADS);
    const warmMs = performance.now() - warmStart;
    await barePass(messagesFor('warmup-bare', warmupCount));

    /* ---- measured rounds: bare, worker, bare, ..., bare */
    let verdict;
    for (let round = 0; round <= rounds; round++) {
      const items = messagesFor(`pass${round}`, count);
      results.bare.push(await barePass(items));
      if (round === rounds) break;
      const pass = await workerPass(items);
      const [c0, c1, c2] = pass.cpu;
      const pid = worker.child.pid;
      results.cpu.push({ whole: cpuBetween(c0, c2, pid, rewriteTids), enqueue: cpuBetween(c0, c1, pid, rewriteTids), drain: cpuBetween(c1, c2, pid, rewriteTids) });
      results.phases.push({ enqueueMs: pass.enqueueMs, drainMs: pass.ms - pass.enqueueMs, readyAtEnqueued: pass.readyAtEnqueued });
      results.worker.push(pass.ms);
      results.enqueue.push(pass.enqueueMs);
      verdict = await verifyAndClear(items);
      console.error(
        `  round ${round + 1}/${rounds}: bare ${(count / (results.bare[round] / 1000)).toFixed(0)} msgs/s, worker ${(count / (pass.ms / 1000)).toFixed(0)} msgs/s (enqueue done at ${(pass.enqueueMs / 1000).toFixed(2)} s of ${(pass.ms / 1000).toFixed(2)} s, ${pass.readyAtEnqueued} ready by then)`,
      );
    }

    /* ---- stop the worker: SIGTERM, exit 0 */
    workerExit = await stopChild(worker, 30_000);
    if (workerExit.code !== 0) fail(`the worker did not stop cleanly on SIGTERM (exit code ${workerExit.code}, signal ${workerExit.signal})\n${worker.describe()}`);
    logSummary = [...worker.logs].sort((a, b) => b[1] - a[1]);

    settings.summary = {
      corpus: dir,
      corpusMessages: corpus.length,
      bytesPerPass: Array.from({ length: count }, (_, i) => corpus[i % corpus.length].raw.length).reduce((a, b) => a + b, 0),
      warmMs,
      verdict,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const problems = await runCleanups(cleanups);
    if (problems.length) {
      console.error(`bench:rewriter: cleanup problems:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  }

  /* ---- report */
  const { summary } = settings;
  const bareMs = median(results.bare);
  const workerMs = median(results.worker);
  const bareRate = count / (bareMs / 1000);
  const workerRate = count / (workerMs / 1000);
  const ratio = workerRate / bareRate;
  const rate = (ms) => `${Math.round(count / (ms / 1000))}`;

  console.log(`corpus: ${summary.corpus} (${summary.corpusMessages} messages)`);
  console.log(
    `workload: ${count} messages per pass (corpus repeated), ${(summary.bytesPerPass / 1e6).toFixed(1)} MB; ` +
      `${summary.verdict.tracked} tracked, skipped as expected: ${[...summary.verdict.skips].map(([code, n]) => `${n} ${code}`).join(', ') || 'none'}`,
  );
  console.log(
    `worker: node ${settings.nodeFlags.map((f) => `${f} `).join('')}${path.relative(ROOT, WORKER_MAIN)}, REWRITER_THREADS=${settings.REWRITER_THREADS} REWRITER_CONCURRENCY=${settings.REWRITER_CONCURRENCY} ` +
      `LOG_LEVEL=${settings.LOG_LEVEL}; ${settings.cores} cores; Node ${process.version}; ` +
      `stopped by SIGTERM, exit ${workerExit.code}`,
  );
  console.log(
    `method: enqueueMessages in batches of ${batchSize}, clock from the first enqueue until outbound-ready's wait count (polled every ${POLL_MS} ms, no consumer) ` +
      `reaches ${count}; warm-up ${warmupCount} messages (${(summary.warmMs / 1000).toFixed(1)} s through the worker) and ${warmupCount} bare`,
  );
  console.log(`rounds: bare, worker alternating; ${results.bare.length} bare passes, ${results.worker.length} worker passes; checked: every id once on outbound-ready, as the bare engine tracks it`);
  if (logSummary.length) console.log(`worker log (level ≥ warn), whole run (warm-up and every pass):\n  ${logSummary.map(([k, n]) => `${n} x ${k}`).join('\n  ')}`);
  console.log('');
  console.log(
    table([
      ['pass', 'median s', 'min s', 'max s', 'msgs/s (median)', 'each pass msgs/s'],
      ['bare engine (1 core, in process)', (bareMs / 1000).toFixed(3), (Math.min(...results.bare) / 1000).toFixed(3), (Math.max(...results.bare) / 1000).toFixed(3), Math.round(bareRate), results.bare.map(rate).join(' ')],
      ['worker (enqueue → outbound-ready)', (workerMs / 1000).toFixed(3), (Math.min(...results.worker) / 1000).toFixed(3), (Math.max(...results.worker) / 1000).toFixed(3), Math.round(workerRate), results.worker.map(rate).join(' ')],
      ['  of which enqueueing', (median(results.enqueue) / 1000).toFixed(3), (Math.min(...results.enqueue) / 1000).toFixed(3), (Math.max(...results.enqueue) / 1000).toFixed(3), '', ''],
    ]),
  );
  if (results.cpu.length && results.cpu[0].whole.main > 0) {
    // Per phase of a worker pass: while the platform enqueues, and after (the worker alone with Redis).
    const phases = [
      ['whole pass', 'whole', workerMs, count],
      ['while enqueueing', 'enqueue', median(results.phases.map((p) => p.enqueueMs)), median(results.phases.map((p) => p.readyAtEnqueued))],
      ['after enqueueing', 'drain', median(results.phases.map((p) => p.drainMs)), count - median(results.phases.map((p) => p.readyAtEnqueued))],
    ];
    const cell = (phase, key) => {
      const s = median(results.cpu.map((c) => (key === 'total' ? Object.values(c[phase[1]]).reduce((a, b) => a + b, 0) : c[phase[1]][key])));
      return `${s.toFixed(2)} s ${`${((100 * s) / ((phase[2] / 1000) * settings.cores)).toFixed(0)}%`.padStart(4)}`;
    };
    const labels = [
      ['main', 'worker main thread (BullMQ, Redis I/O, validation, piscina)'],
      ['rewrite', `worker rewrite thread${settings.REWRITER_THREADS === 1 ? '' : 's'} (${settings.REWRITER_THREADS})`],
      ['helpers', 'worker other threads (V8 GC/compiler helpers, libuv)'],
      ['redis', 'redis-server'],
      ['bench', 'bench process (enqueueMessages, polling)'],
      ['total', 'total'],
    ];
    console.log(`\nCPU during a worker pass (medians over the passes; % of the ${settings.cores} cores over the phase's wall time; a bare pass takes ${(bareMs / 1000).toFixed(2)} s of one core):`);
    console.log(
      table([
        ['', ...phases.map((p) => p[0])],
        ['  wall time', ...phases.map((p) => `${(p[2] / 1000).toFixed(2)} s`)],
        ['  messages reaching outbound-ready', ...phases.map((p) => `${Math.round(p[3])} (${Math.round(p[3] / (p[2] / 1000))}/s)`)],
        ...labels.map(([key, label]) => [`  ${label}`, ...phases.map((p) => cell(p, key))]),
      ]),
    );
    const perMessage = median(results.cpu.map((c) => Object.values(c.whole).reduce((x, y) => x + y, 0))) / count;
    const ceiling = settings.cores / perMessage;
    console.log(
      `CPU per message, all processes: ${(perMessage * 1000).toFixed(2)} ms (bare engine ${(bareMs / count).toFixed(2)} ms); with every core busy that allows at most ` +
        `${Math.round(ceiling)} msgs/s, ratio ${(ceiling / bareRate).toFixed(2)}; r = 0.6 needs ≤ ${((settings.cores / (0.6 * bareRate)) * 1000).toFixed(2)} ms per message at 100% busy`,
    );
  }
  console.log(`\nratio to bare engine = median worker msgs/s / median bare msgs/s = ${ratio.toFixed(3)}; target >= 0.6`);
  if (profileDir) printProfiles(profileDir, 25);
  console.log(`\nrewriter: ${Math.round(workerRate)} msgs/s, ratio to bare engine ${ratio.toFixed(2)}`);
}

main().catch((error) => {
  console.error(`bench:rewriter: ${error instanceof BenchError ? error.message : error && error.stack ? error.stack : error}`);
  process.exit(1);
});

'use strict';
/*
 * npm run bench:rewrite
 *
 * Rewrites the corpus repeatedly on one core and prints messages/s and MB/s and, measured in
 * the same run on the same HTML, the ratio to just parsing that HTML with htmlparser2 (the
 * floor any HTML-aware rewriter pays). Last line:
 *
 *   rewrite: <MB/s> MB/s, <n> msgs/s, ratio to parse-only <r>
 *
 * Workload: every corpus eml file, plus every html file wrapped as a quoted-printable
 * text/html message (bench/corpus.js).
 *
 * Baseline: `new htmlparser2.Parser({}).end(html)` (the plain parser, no handler, no DOM) over
 * exactly the HTML documents the rewriter reads in that workload, as decoded strings: the
 * readable text/html parts of every message it tracks. Messages it leaves untracked by design
 * (DKIM-signed, S/MIME-signed, X-AMP: skip) are still rewritten in every pass, but their HTML
 * is not in the baseline, since the rewriter never reads it (this can only lower r).
 *
 * The ratio: message bytes (rewrite) and HTML bytes (parse) are different quantities, so the
 * MB/s figures are not divided by each other. r compares the same work instead:
 *   r = (time to parse all the HTML of the workload) / (time to rewrite the whole workload)
 * for one pass of each (medians over the rounds): r = 1 would mean rewriting costs no more
 * than parsing the HTML inside it; higher is better.
 *
 * Timing: the budget is split into 3 sessions, each with a fresh pair of workers (below): a
 * warm-up, then rounds of (parse pass, rewrite pass) alternating, so machine noise hits both;
 * medians per pass over the rounds of all sessions. Fresh workers because one isolate's JIT
 * outcome can be unlucky (a parse median of 27-29 ms instead of 16 was seen in some
 * sessions). One thing runs at a time: each rewriteMessage is awaited before the next
 * starts and the passes never overlap, so the work runs on one core (pin the process with
 * `taskset -c 0` to keep V8's helper threads on that core too).
 *
 * Each side runs in its own worker thread (its own V8 isolate and heap); the main thread only
 * alternates them. In one isolate the two would share htmlparser2's Tokenizer code and its
 * JIT feedback, and the rewriter's use of it made the parse pass about 3x slower (16 ms
 * alone, 30-70 ms interleaved), overstating r about 3x; each side's garbage would also be
 * collected during the other's pass. Separate isolates give each side the JIT state and heap
 * it has in production, alone. No gc() between passes: forcing a full collection before each
 * pass made both sides 2-3x slower.
 *
 * Environment: BENCH_SECONDS (default 10) total time budget, warm-up included;
 * MAILBEACON_CORPUS the corpus folder (default ../shared/corpus from the project root).
 */
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { median, table } = require('./support');

/* ------------------------------------------------------------------ worker side */

/** Runs one side of the benchmark; the main thread asks for passes one at a time. */
async function workerMain() {
  const { loadWorkload } = require('./corpus');
  const workload = await loadWorkload(workerData.corpusDir);
  let pass;
  let info = {};

  if (workerData.role === 'parse') {
    const { Parser } = require('htmlparser2');
    const included = new Set(workerData.htmlFrom);
    const html = workload.messages.filter((m) => included.has(m.name)).flatMap((m) => m.html);
    pass = () => {
      for (const text of html) new Parser({}).end(text);
    };
    info = { documents: html.length, bytes: html.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0) };
  } else {
    const { rewriteMessage } = require('@mailbeacon/rewrite');
    const { keyRing } = require('@mailbeacon/links');
    const options = { trackingDomain: 'click.example.com', server: 'bench', keys: keyRing('bench-signing-secret-0123456789') };
    const messages = workload.messages.map((m) => m.raw);
    pass = async () => {
      for (const raw of messages) await rewriteMessage(raw, options);
    };
    // The check pass: what every message gives, for the main thread to judge.
    const results = [];
    for (const message of workload.messages) {
      const result = await rewriteMessage(message.raw, options);
      const ok = result !== null && typeof result === 'object' && Buffer.isBuffer(result.raw);
      results.push({
        name: message.name,
        ok,
        skipped: ok ? result.skipped : undefined,
        links: ok ? result.links.length : 0,
        pixel: ok && result.pixel === true,
      });
    }
    info = { messages: messages.length, bytes: messages.reduce((sum, raw) => sum + raw.length, 0), results };
  }

  parentPort.on('message', async () => {
    const start = performance.now();
    await pass();
    parentPort.postMessage({ ms: performance.now() - start });
  });
  parentPort.postMessage({ ready: info });
}

/* ------------------------------------------------------------------ main side */

/** Skip codes (`code: explanation`) that some corpus files are expected to get. */
const EXPECTED_SKIPS = new Set(['dkim-signed', 'signed', 'x-amp', 'x-amp-skip']);
const WARMUP_SHARE = 0.15;
const MIN_WARMUP_PASSES = 3;
const MIN_ROUNDS = 5; // per session
/** Fresh worker pairs, each with its own JIT outcome (one isolate's can be unlucky); rounds are pooled. */
const SESSIONS = 3;
const MB = 1e6;

function fail(message) {
  console.error(`bench:rewrite: ${message}`);
  process.exit(1);
}

/** A worker thread running one side; `ready` is what it reports once loaded. */
function startSide(role, data) {
  const worker = new Worker(__filename, { workerData: { role, ...data } });
  let waiting;
  let failure;
  const settle = (error, value) => {
    const w = waiting;
    waiting = undefined;
    if (w) error ? w.reject(error) : w.resolve(value);
  };
  worker.on('message', (message) => settle(undefined, message));
  worker.on('error', (error) => {
    failure = error;
    settle(error);
  });
  worker.on('exit', (code) => {
    failure = failure || new Error(`the ${role} worker exited (code ${code})`);
    settle(failure);
  });
  const next = () =>
    failure
      ? Promise.reject(failure)
      : new Promise((resolve, reject) => {
          waiting = { resolve, reject };
        });
  return {
    ready: next().then((message) => message.ready),
    /** One pass, timed inside the worker (ms). */
    pass() {
      const answer = next();
      worker.postMessage('pass');
      return answer.then((message) => message.ms);
    },
    stop: () => worker.terminate(),
  };
}


function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}


async function main() {
  const seconds = process.env.BENCH_SECONDS === undefined ? 10 : Number(process.env.BENCH_SECONDS);
  if (!(seconds > 0)) fail(`BENCH_SECONDS must be a positive number of seconds, got ${JSON.stringify(process.env.BENCH_SECONDS)}`);

  // Fail on a missing corpus or build here, with a clear message, before any worker starts.
  const { checkedCorpusDir } = require('./corpus');
  const dir = checkedCorpusDir(fail);
  for (const name of ['@mailbeacon/rewrite', '@mailbeacon/links']) {
    try {
      require.resolve(name);
    } catch {
      fail(`cannot load ${name}; build it first: npx tsc -b packages/rewrite packages/links`);
    }
  }

  const began = performance.now();
  const budgetMs = seconds * 1000;

  /** Checks what the rewrite worker's check pass gave; the messages it tracks. */
  const judge = (checked) => {
    const verdict = { skipped: [], unexpected: [], tracked: [], links: 0, pixels: 0 };
    for (const result of checked.results) {
      if (!result.ok) verdict.unexpected.push(`${result.name}: rewriteMessage returned no raw message`);
      else if (result.skipped) {
        const colon = result.skipped.indexOf(':');
        const code = (colon < 0 ? result.skipped : result.skipped.slice(0, colon)).trim();
        (EXPECTED_SKIPS.has(code) ? verdict.skipped : verdict.unexpected).push(`${result.name}: ${result.skipped}`);
      } else {
        verdict.tracked.push(result.name);
        verdict.links += result.links;
        if (result.pixel) verdict.pixels++;
      }
    }
    return verdict;
  };

  let checked;
  let verdict;
  let parsed;
  const parseTimes = [];
  const rewriteTimes = [];
  const sessions = [];
  for (let session = 0; session < SESSIONS; session++) {
    const sessionStart = performance.now();
    const sessionEnd = began + (budgetMs * (session + 1)) / SESSIONS;

    // The rewrite side loads first: its check pass says which messages are tracked.
    const rewrite = startSide('rewrite', { corpusDir: dir });
    checked = await rewrite.ready;
    const judged = judge(checked);
    if (judged.unexpected.length > 0) {
      await rewrite.stop();
      fail(`rewrite skipped ${judged.unexpected.length} message(s) for an unexpected reason:\n  ${judged.unexpected.join('\n  ')}`);
    }
    if (verdict && judged.tracked.join('\n') !== verdict.tracked.join('\n')) {
      await rewrite.stop();
      fail('the rewriter tracked different messages in two runs over the same corpus');
    }
    verdict = judged;
    const parse = startSide('parse', { corpusDir: dir, htmlFrom: verdict.tracked });
    parsed = await parse.ready;
    if (parsed.documents === 0) {
      await Promise.all([parse.stop(), rewrite.stop()]);
      fail('the workload contains no HTML the rewriter reads');
    }

    // Warm-up: both code paths optimised before anything is measured.
    const warmEnd = sessionStart + (sessionEnd - sessionStart) * WARMUP_SHARE;
    for (let i = 0; i < MIN_WARMUP_PASSES || performance.now() < warmEnd; i++) {
      await parse.pass();
      await rewrite.pass();
    }
    const sessionParse = [];
    const sessionRewrite = [];
    while (sessionParse.length < MIN_ROUNDS || performance.now() < sessionEnd) {
      sessionParse.push(await parse.pass());
      sessionRewrite.push(await rewrite.pass());
    }
    await Promise.all([parse.stop(), rewrite.stop()]);
    parseTimes.push(...sessionParse);
    rewriteTimes.push(...sessionRewrite);
    sessions.push({ parse: median(sessionParse), rewrite: median(sessionRewrite), rounds: sessionParse.length });
  }
  const { skipped, links, pixels } = verdict;

  const parseMs = median(parseTimes);
  const rewriteMs = median(rewriteTimes);
  const ratio = parseMs / rewriteMs;
  const roundRatios = parseTimes.map((p, i) => p / rewriteTimes[i]);
  const rewriteMBs = checked.bytes / MB / (rewriteMs / 1000);
  const rewriteMsgs = checked.messages / (rewriteMs / 1000);
  const parseMBs = parsed.bytes / MB / (parseMs / 1000);
  const parseDocs = parsed.documents / (parseMs / 1000);

  console.log(`corpus: ${dir}`);
  console.log(
    `workload: ${checked.messages} messages, ${(checked.bytes / MB).toFixed(2)} MB; ` +
      `${parsed.documents} HTML documents read by the rewriter, ${(parsed.bytes / MB).toFixed(2)} MB; ` +
      `${links} tracked links, ${pixels} pixels per pass`,
  );
  if (skipped.length > 0) console.log(`left untracked by design (rewritten each pass, HTML not in the baseline):\n  ${skipped.join('\n  ')}`);
  console.log(
    `rounds: ${parseTimes.length} x (parse pass, rewrite pass) in ${SESSIONS} sessions, ${((performance.now() - began) / 1000).toFixed(1)} s ` +
      `incl. start-up and warm-up; Node ${process.version}`,
  );
  console.log(
    `session medians (ms, parse / rewrite): ${sessions.map((x) => `${x.parse.toFixed(1)} / ${x.rewrite.toFixed(1)}`).join(', ')}\n`,
  );
  console.log(
    table([
      ['pass', 'median ms', 'min ms', 'max ms', 'per s', 'MB/s', 'MB counted'],
      ['parse-only (htmlparser2)', parseMs.toFixed(2), Math.min(...parseTimes).toFixed(2), Math.max(...parseTimes).toFixed(2), `${Math.round(parseDocs)} docs`, parseMBs.toFixed(1), 'HTML'],
      ['rewrite (rewriteMessage)', rewriteMs.toFixed(2), Math.min(...rewriteTimes).toFixed(2), Math.max(...rewriteTimes).toFixed(2), `${Math.round(rewriteMsgs)} msgs`, rewriteMBs.toFixed(1), 'messages'],
    ]),
  );
  console.log(
    `\nratio to parse-only = median parse pass / median rewrite pass = ${ratio.toFixed(3)} ` +
      `(per round: p25 ${quantile(roundRatios, 0.25).toFixed(3)}, median ${median(roundRatios).toFixed(3)}, p75 ${quantile(roundRatios, 0.75).toFixed(3)}); target >= 0.5\n`,
  );
  console.log(`rewrite: ${rewriteMBs.toFixed(1)} MB/s, ${Math.round(rewriteMsgs)} msgs/s, ratio to parse-only ${ratio.toFixed(2)}`);
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  workerMain().catch((error) => {
    // Rethrown outside the promise so the main thread gets it as the worker's 'error'.
    setImmediate(() => {
      throw error;
    });
  });
}

'use strict';
/* Small helpers every benchmark script uses. */

/** An integer setting from the environment; a bad value stops the benchmark with a clear message. */
function envInteger(bench) {
  return (name, defaultValue, min) => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return defaultValue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      console.error(`${bench}: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
      process.exit(2);
    }
    return value;
  };
}

/**
 * BENCH_ONLY: the measurements to run, a comma list of `all`'s names (default all of them), in
 * `all`'s order; anything else stops the benchmark with a clear message.
 */
function measurementsToRun(bench, all) {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw.trim() === '') return new Set(all);
  const names = raw.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0 || names.some((name) => !all.includes(name))) {
    console.error(`${bench}: BENCH_ONLY must be a comma list of ${all.join(', ')}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return new Set(all.filter((name) => names.includes(name)));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rows as aligned columns: the first left-aligned, the others right-aligned. */
function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ')).join('\n');
}

/** A failure the benchmark explains itself: its message is printed alone, without a stack. */
class BenchError extends Error {}

function fail(message) {
  throw new BenchError(message);
}

/** A workspace package's build (packages/<name>/dist); a missing build says how to make it. */
function builtPackage(name) {
  try {
    return require(require('node:path').join(__dirname, '..', 'packages', name, 'dist'));
  } catch (error) {
    return fail(`cannot load packages/${name}/dist (${error.message.split('\n')[0]}); build first: npx tsc -b`);
  }
}

const LOG_LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** `level: msg (err.message)`: what a log line is counted under unless `logKey` says otherwise. */
const defaultLogKey = (entry, level) => `${level}: ${entry.msg}${entry.err ? ` (${entry.err.message})` : ''}`;

/**
 * Watches a spawned process (stdio ['ignore', 'pipe', 'pipe']). Its stdout is read line by line:
 * a JSON line (pino) is handed to `onEntry(entry, state)`, then counted in `state.logs` under
 * `logKey(entry, level)` (level: the pino level's name); up to 20 other lines are kept in
 * `state.otherStdout`. The last 20,000 characters of stderr are kept in `state.stderr`.
 * `state.exitPromise` resolves with `state.exited` ({ code, signal }, or { error } when the spawn
 * failed); while the process runs the state is in `children`, if given.
 *
 * `state.describe()`, for error reports, says how it exited, the tail of its stderr, its other
 * stdout (unless `reportStdout` is false) and the log lines at `reportLevel` ('warn', the
 * default, or 'error') and above, then `describeMore(state)` if that says anything; each part
 * named after `name`.
 */
function watchChild(child, { name, children, onEntry, logKey = defaultLogKey, reportLevel = 'warn', reportStdout = true, describeMore } = {}) {
  const state = { name, child, exited: null, logs: new Map(), stderr: '', otherStdout: [] };
  if (children) children.add(state);
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line);
        if (onEntry) onEntry(entry, state);
        const key = logKey(entry, LOG_LEVELS[entry.level] || entry.level);
        state.logs.set(key, (state.logs.get(key) || 0) + 1);
      } catch {
        if (state.otherStdout.length < 20) state.otherStdout.push(line);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    state.stderr = (state.stderr + chunk).slice(-20000);
  });
  state.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      state.exited = { code, signal };
      if (children) children.delete(state);
      resolve(state.exited);
    });
    child.on('error', (error) => {
      state.exited = { code: null, signal: null, error };
      if (children) children.delete(state);
      resolve(state.exited);
    });
  });
  const [reported, heading] = reportLevel === 'error' ? [/^(error|fatal)/, 'errors:'] : [/^(warn|error|fatal)/, 'log (warn and above):'];
  state.describe = () => {
    const parts = [];
    if (state.exited) parts.push(`${name} exited (code ${state.exited.code}, signal ${state.exited.signal})`);
    if (state.stderr.trim()) parts.push(`${name} stderr:\n${state.stderr.trim().split('\n').slice(-30).join('\n')}`);
    if (reportStdout && state.otherStdout.length) parts.push(`${name} stdout:\n${state.otherStdout.join('\n')}`);
    const lines = [...state.logs].filter(([key]) => reported.test(key));
    if (lines.length) parts.push(`${name} ${heading}\n  ${lines.map(([k, n]) => `${n} x ${k}`).join('\n  ')}`);
    const more = describeMore && describeMore(state);
    if (more) parts.push(more);
    return parts.join('\n');
  };
  return state;
}

/** SIGTERM, then wait for the exit (SIGKILL after `graceMs`); a watchChild state. */
async function stopChild(state, graceMs) {
  if (state.exited) return state.exited;
  state.child.kill('SIGTERM');
  const timer = setTimeout(() => state.child.kill('SIGKILL'), graceMs);
  const exited = await state.exitPromise;
  clearTimeout(timer);
  return exited;
}

/** Runs the cleanups, the last added first, each whatever the others do; the messages of those that failed. */
async function runCleanups(cleanups) {
  const problems = [];
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      problems.push(error.message);
    }
  }
  return problems;
}

module.exports = { envInteger, measurementsToRun, builtPackage, sleep, median, table, BenchError, fail, watchChild, stopChild, runCleanups };

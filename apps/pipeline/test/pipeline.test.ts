import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { QUEUE_NAMES } from '@mailbeacon/contracts';
import { keyRing } from '@mailbeacon/links';
import { connectRedis } from '@mailbeacon/redis-connection';
import { Queue } from 'bullmq';
import { corpusDir, freePort, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { REPO_ROOT } from '../src/config';
import { htmlMessage, runDemo, trackedLinksIn } from '../src/demo';
import { localSecret } from '../src/local-secret';
import { formatLogLine, jsonLogLine } from '../src/log-lines';

/* `npm start` as a user runs it: the built supervisor, real child processes, real Redis and PostgreSQL. */

const MAIN = path.join(REPO_ROOT, 'apps', 'pipeline', 'dist', 'main.js');
const CLI = path.join(REPO_ROOT, 'packages', 'cli', 'bin', 'mailbeacon.js');

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs a node script with `stdin` as its input; resolves with its stdout. */
function runWithStdin(args: string[], stdin: Buffer, env: NodeJS.ProcessEnv): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`exit code ${code}`))));
    child.stdin.end(stdin);
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A key of its own, so that no run makes the checkout's var/mailbeacon.secret. */
const TEST_SECRET = 'pipeline-test-secret-0123456789';

function runStart(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, MAILBEACON_SECRET: TEST_SECRET, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npm start did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm start: what a user sees when something is missing', () => {
  test('Redis and PostgreSQL unreachable: says so for both, where it looked, what happened and how to start each; no stack trace', async () => {
    const [redisPort, postgresPort] = await Promise.all([freePort(), freePort()]);
    const run = await runStart({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresPort}/mailbeacon` });
    expect(run.code).toBe(1);
    // The cause, not ioredis's bare "Connection is closed.".
    expect(run.stderr).toContain(`Redis is not reachable at redis://127.0.0.1:${redisPort}: connect ECONNREFUSED 127.0.0.1:${redisPort}.\n`);
    expect(run.stderr).not.toContain('Connection is closed');
    expect(run.stderr).toContain('docker compose up -d redis');
    expect(run.stderr).toContain('REDIS_URL');
    expect(run.stderr).toContain(`PostgreSQL is not reachable at postgres://postgres@127.0.0.1:${postgresPort}/mailbeacon`);
    expect(run.stderr).toContain('docker compose up -d postgres');
    // docker compose refuses to start even Redis without the secret: the advice says so.
    expect(run.stderr).toContain('docker compose needs MAILBEACON_SECRET, even for this: once, echo "MAILBEACON_SECRET=$(openssl rand -base64 32)" > .env');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack frames
  });

  test('PostgreSQL unreachable: says so, where it looked (password hidden) and how to start one', async () => {
    const port = await freePort();
    const run = await runStart({ REDIS_URL: TEST_REDIS_URL, DATABASE_URL: `postgres://app:s3cret@127.0.0.1:${port}/mailbeacon` });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`Redis       ${TEST_REDIS_URL}: ok`);
    expect(run.stderr).toContain(`PostgreSQL is not reachable at postgres://app:***@127.0.0.1:${port}/mailbeacon`);
    expect(run.stderr).toContain('docker compose up -d postgres');
    expect(run.stderr).not.toContain('s3cret');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('bad configuration: every bad variable, exit 78', async () => {
    const run = await runStart({ REDIS_URL: 'http://nope', DATABASE_URL: 'mysql://x' });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/REDIS_URL[\s\S]*DATABASE_URL/);
  });

  test("bad configuration of several apps: every app's problems, not only the first's, exit 78", async () => {
    const temp = await temporaryDatabase();
    try {
      const run = await runStart({
        REDIS_URL: TEST_REDIS_URL,
        DATABASE_URL: temp.url,
        REWRITER_CONCURRENCY: '0',
        AGGREGATOR_BATCH_SIZE: 'many',
        TRACKER_PORT: '99999',
        ADMIN_PORT: 'eighty',
      }, 60_000);
      expect(run.code).toBe(78);
      for (const [app, variable] of [['rewriter', 'REWRITER_CONCURRENCY'], ['aggregator', 'AGGREGATOR_BATCH_SIZE'], ['tracker', 'TRACKER_PORT'], ['admin', 'ADMIN_PORT']]) {
        expect(run.stderr).toContain(`${app} stopped before it was up (exit code 78):`);
        expect(run.stderr).toMatch(new RegExp(`${app} .*${variable}: `));
      }
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await temp.drop();
    }
  }, 90_000);

  test('a bad signing key file is bad configuration, found before anything starts; the file is kept', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-badkey-'));
    try {
      writeFileSync(path.join(dir, 'secret'), 'too-short\n');
      const run = await runStart({ MAILBEACON_SECRET: '', MAILBEACON_SECRET_FILE: path.join(dir, 'secret'), REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
      expect(run.code).toBe(78);
      expect(run.stderr).toBe(`mailbeacon: bad configuration:\nMAILBEACON_SECRET_FILE: ${path.join(dir, 'secret')} must hold a secret of at least 16 characters (got 9 characters)\n`);
      expect(readFileSync(path.join(dir, 'secret'), 'utf8')).toBe('too-short\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm start: the whole pipeline', () => {
  let temp: TemporaryDatabase;
  let redis: ReturnType<typeof uniquePrefix>;
  let dir: string;

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redis = uniquePrefix();
    dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-start-'));
  });
  afterAll(async () => {
    await redis.cleanup();
    await temp.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts the four apps, prints where they listen, runs the demo end to end, stops cleanly on Ctrl-C', async () => {
    const [trackerPort, adminPort, rewriterMetrics, aggregatorMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: temp.url,
      QUEUE_PREFIX: redis.prefix,
      TRACKER_PORT: String(trackerPort),
      ADMIN_PORT: String(adminPort),
      REWRITER_METRICS_PORT: String(rewriterMetrics),
      AGGREGATOR_METRICS_PORT: String(aggregatorMetrics),
      SPOOL_DIR: path.join(dir, 'spool'),
      // Relative, as the default var/mailbeacon.secret: relative to the checkout, wherever a process runs.
      MAILBEACON_SECRET_FILE: path.relative(REPO_ROOT, path.join(dir, 'secret')),
      DOMAIN_REFRESH_MS: '500',
      // Would hide the lines that say an app is up: the supervisor uses info instead.
      LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, [MAIN], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes('Stop: Ctrl-C.')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(stdout).toContain(`tracker     http://127.0.0.1:${trackerPort}`);
      expect(stdout).toMatch(new RegExp(`admin API   http://127\\.0\\.0\\.1:${adminPort}   Authorization: Bearer [A-Za-z0-9_-]{20,}`));
      expect(stdout).toContain(`console     http://127.0.0.1:${adminPort}/console/   in a browser; log in with the admin token`);
      expect(stdout).toContain(`rewriter    outbound-messages → outbound-ready   health and metrics http://127.0.0.1:${rewriterMetrics}`);
      expect(stdout).toContain(`aggregator  tracking-events → PostgreSQL   health and metrics http://127.0.0.1:${aggregatorMetrics}`);
      for (const port of [rewriterMetrics, aggregatorMetrics]) expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const keyId = /signing key (\S+) generated into .*secret/.exec(stdout)?.[1];
      expect(keyId).toBe(keyRing(readFileSync(path.join(dir, 'secret'), 'utf8').trim()).current.id);
      // The apps read that very file, and say so.
      for (const app of ['rewriter', 'tracker']) {
        expect(stdout).toMatch(new RegExp(`${app} +INFO +signing key ${keyId} from ${path.join(dir, 'secret')} \\(MAILBEACON_SECRET_FILE\\)`));
      }
      expect(stdout).toContain('LOG_LEVEL=warn hides the lines that say an app is up: using info');
      expect(statSync(path.join(dir, 'secret')).mode & 0o077).toBe(0); // readable by its owner only

      const lines: string[] = [];
      await runDemo({
        redisUrl: TEST_REDIS_URL,
        databaseUrl: temp.url,
        queuePrefix: redis.prefix,
        trackerUrl: `http://127.0.0.1:${trackerPort}`,
        trackHostHeader: 'X-Postal-Track-Host',
        corpusDir: corpusDir(),
        print: (line) => lines.push(line),
      });
      const output = lines.join('\n');
      expect(output).toMatch(/rewritten: \d+ tracked links, pixel added/);
      expect(output).toContain('opened the pixel: 200 image/gif (43 bytes)');
      expect(output).toMatch(/clicked link 0: 302 → https?:\/\//);
      expect(output).toMatch(/human_opens +1\n/);
      expect(output).toMatch(/human_clicks +1\n/);
      expect(output).toMatch(/hourly_stats[\s\S]*opens 0 → 1[\s\S]*human_unique_clicks 0 → 1/);

      // The demo took its messages off outbound-ready, as a platform's consumer would.
      const connection = connectRedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
      const ready = new Queue(QUEUE_NAMES.outboundReady, { connection, prefix: redis.prefix });
      try {
        expect(await ready.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0 });
      } finally {
        await ready.close();
        connection.disconnect();
      }
      // Its tracked links are printed whole: copied into `mailbeacon resolve` (run from another
      // directory, without MAILBEACON_SECRET), each resolves to the destination printed with it.
      const [, link, destination] = /\[0\] (\S+)\n +→ (\S+)/.exec(output)!;
      const [, pixel] = /pixel (http\S+)/.exec(output)!;
      const cli = await promisify(execFile)(process.execPath, [CLI, 'resolve', link, pixel], { cwd: path.join(REPO_ROOT, 'apps'), env: { PATH: process.env.PATH, MAILBEACON_SECRET_FILE: env.MAILBEACON_SECRET_FILE } });
      expect(cli.stdout).toMatch(new RegExp(`^${escapeRegExp(destination)}\nopen pixel of message `));

      // A link from `mailbeacon rewrite` (the same key) is redirected by the running tracker.
      const preview = await runWithStdin([CLI, 'rewrite', '--tracking-domain', 'click.demo.mailbeacon.test', '--http'], htmlMessage(Buffer.from('<a href="https://example.com/preview">x</a>'), { from: 'a@demo.mailbeacon.test', to: 'b@example.org', subject: 's', messageId: '<p@x>' }), { PATH: process.env.PATH, MAILBEACON_SECRET_FILE: env.MAILBEACON_SECRET_FILE });
      const [previewLink] = trackedLinksIn(preview, 'click.demo.mailbeacon.test').links;
      const redirect = await fetch(new URL(new URL(previewLink.url).pathname, `http://127.0.0.1:${trackerPort}`), { headers: { 'X-Postal-Track-Host': '1' }, redirect: 'manual' });
      expect([redirect.status, redirect.headers.get('location')]).toEqual([302, 'https://example.com/preview']);

      // A tracker started by hand next to npm start (same checkout, no MAILBEACON_SECRET) takes the demo's links too.
      const handPort = await freePort();
      const hand = spawn(process.execPath, ['apps/tracker/dist/main.js'], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, MAILBEACON_SECRET_FILE: env.MAILBEACON_SECRET_FILE, TRACKER_PORT: String(handPort), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: redis.prefix, SPOOL_DIR: path.join(dir, 'hand-spool') },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          createInterface({ input: hand.stdout! }).on('line', (line) => line.includes('"tracker listening"') && resolve());
          hand.once('exit', (code) => reject(new Error(`the tracker started by hand exited (${code})`)));
        });
        const click = await fetch(new URL(new URL(link).pathname, `http://127.0.0.1:${handPort}`), { headers: { 'X-Postal-Track-Host': '1' }, redirect: 'manual' });
        expect([click.status, click.headers.get('location')]).toEqual([302, destination]);
      } finally {
        hand.kill('SIGTERM');
        if (hand.exitCode === null) await new Promise((resolve) => hand.once('exit', resolve));
      }

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout).toContain('SIGINT: stopping');
      for (const app of ['rewriter stopped', 'aggregator stopped', 'tracker stopped', 'admin API stopped']) expect(stdout).toContain(app);
      expect(stdout.trimEnd().endsWith('stopped')).toBe(true);
      // Nothing is left listening.
      await expect(fetch(`http://127.0.0.1:${trackerPort}/healthz`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});

describe('npm start killed the hard way', () => {
  test('SIGKILL of the supervisor: its apps notice (their IPC channel closes) and stop by themselves', async () => {
    const temp = await temporaryDatabase();
    const redis = uniquePrefix();
    const dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-orphans-'));
    const [trackerPort, adminPort] = await Promise.all([freePort(), freePort()]);
    const child = spawn(process.execPath, [MAIN], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH, REDIS_URL: TEST_REDIS_URL, DATABASE_URL: temp.url, QUEUE_PREFIX: redis.prefix,
        TRACKER_PORT: String(trackerPort), ADMIN_PORT: String(adminPort), REWRITER_METRICS_PORT: '0', AGGREGATOR_METRICS_PORT: '0',
        SPOOL_DIR: path.join(dir, 'spool'), MAILBEACON_SECRET_FILE: path.join(dir, 'secret'),
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // Running, not a zombie waiting for init (this container's init reaps orphans slowly).
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    let apps: number[] = [];
    try {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes('Stop: Ctrl-C.')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // LOG_FORMAT=json: JSON lines only (for jq), the supervisor's and the apps' alike, each named.
      const records = stdout.slice(0, stdout.lastIndexOf('\n')).split('\n').map((line) => JSON.parse(line) as { name?: string; msg?: string });
      expect(new Set(records.map((record) => record.name))).toEqual(new Set(['mailbeacon', 'rewriter', 'aggregator', 'tracker', 'admin']));
      expect(records.find((record) => record.msg?.startsWith('mailbeacon is running:'))?.msg).toContain('Stop: Ctrl-C.');
      apps = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      expect(apps).toHaveLength(4);
      child.kill('SIGKILL');
      const gone = Date.now() + 20_000;
      while (apps.some(alive) && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(apps.filter(alive).map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim())).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      for (const pid of apps.filter(alive)) process.kill(pid, 'SIGKILL');
      await redis.cleanup();
      await temp.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('pieces of npm start', () => {
  test('the local signing key is made once and reused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-secret-'));
    try {
      const file = path.join(dir, 'var', 'secret');
      const first = localSecret(file);
      expect(first.created).toBe(true);
      expect(first.secret.length).toBeGreaterThanOrEqual(32);
      expect(localSecret(file)).toEqual({ secret: first.secret, created: false });
      // One written by hand is read as every process reads it; a bad one is reported, never replaced.
      writeFileSync(file, ' a-key-written-by-hand \n');
      expect(localSecret(file)).toEqual({ secret: 'a-key-written-by-hand', created: false });
      writeFileSync(file, 'short');
      expect(() => localSecret(file)).toThrow(/MAILBEACON_SECRET_FILE: .* must hold a secret of at least 16 characters \(got 5 characters\)/);
      expect(readFileSync(file, 'utf8')).toBe('short');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('log lines are shown as time, app, level, message and fields; other lines as they came', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 0, 5), pid: 1, hostname: 'h', name: 'tracker', msg: 'spooling', events: 3, err: { message: 'ECONNREFUSED', stack: 'x' } });
    expect(formatLogLine('tracker', line, 10)).toBe('12:00:00.005  tracker     WARN   spooling  events=3 err=ECONNREFUSED');
    expect(formatLogLine('admin', 'plain text', 5)).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  admin  plain text$/);
  });

  test('LOG_FORMAT=json: a log object passes as it came, any other line becomes one, named', () => {
    const line = JSON.stringify({ level: 30, time: 1, name: 'tracker', msg: 'tracker listening' });
    expect(jsonLogLine('tracker', line)).toBe(line);
    expect(JSON.parse(jsonLogLine('rewriter', '{"level":50,"msg":"x"}'))).toEqual({ name: 'rewriter', level: 50, msg: 'x' });
    expect(JSON.parse(jsonLogLine('mailbeacon', 'Redis       redis://127.0.0.1:6379: ok'))).toEqual({ level: 30, time: expect.any(Number), name: 'mailbeacon', msg: 'Redis       redis://127.0.0.1:6379: ok' });
  });
});

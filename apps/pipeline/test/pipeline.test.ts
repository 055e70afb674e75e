import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { corpusDir, freePort, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { REPO_ROOT } from '../src/config';
import { runDemo } from '../src/demo';
import { localSecret } from '../src/local-secret';
import { formatLogLine } from '../src/log-lines';

/* `npm start` as a user runs it: the built supervisor, real child processes, real Redis and PostgreSQL. */

const MAIN = path.join(REPO_ROOT, 'apps', 'pipeline', 'dist', 'main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runStart(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  test('Redis unreachable: says so, where it looked, what happened and how to start one; no stack trace', async () => {
    const port = await freePort();
    const run = await runStart({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    // The cause, not ioredis's bare "Connection is closed.".
    expect(run.stderr).toContain(`Redis is not reachable at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}.\n`);
    expect(run.stderr).not.toContain('Connection is closed');
    expect(run.stderr).toContain('docker compose up -d redis');
    expect(run.stderr).toContain('REDIS_URL');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack frames
  });

  test('PostgreSQL unreachable: says so, where it looked (password hidden) and how to start one', async () => {
    const port = await freePort();
    const run = await runStart({ REDIS_URL: TEST_REDIS_URL, DATABASE_URL: `postgres://app:s3cret@127.0.0.1:${port}/mailbeacon` });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Redis       redis://127.0.0.1:6379: ok');
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
      MAILBEACON_SECRET_FILE: path.join(dir, 'secret'),
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
      expect(stdout).toContain(`rewriter    outbound-messages → outbound-ready   health and metrics http://127.0.0.1:${rewriterMetrics}`);
      expect(stdout).toContain(`aggregator  tracking-events → PostgreSQL   health and metrics http://127.0.0.1:${aggregatorMetrics}`);
      for (const port of [rewriterMetrics, aggregatorMetrics]) expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect(stdout).toMatch(/signing key generated into .*secret/);
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('log lines are shown as time, app, level, message and fields; other lines as they came', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 0, 5), pid: 1, hostname: 'h', name: 'tracker', msg: 'spooling', events: 3, err: { message: 'ECONNREFUSED', stack: 'x' } });
    expect(formatLogLine('tracker', line, 10)).toBe('12:00:00.005  tracker     WARN   spooling  events=3 err=ECONNREFUSED');
    expect(formatLogLine('admin', 'plain text', 5)).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  admin  plain text$/);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailbeaconClient } from '@mailbeacon/client';
import { freePort, OwnRedis, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { REPO_ROOT } from '../src/config';
import { parseLogLine } from '../src/log-lines';
import { PIPELINE_APPS } from '../src/pipeline';

/*
 * Every Redis-using process, built and run as production runs it, against a Redis that is not
 * there at start-up, or that goes away while it runs (a redis-server of the test's own), and
 * `npm start` the same way. Waits are for log lines and exits, each with a generous deadline.
 */

const SECRET = 'redis-outage-test-secret-0123456789';
const APPS = PIPELINE_APPS.filter((app) => app.name !== 'admin');

/** A child process and its output, line by line. */
class Watched {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    let partial = '';
    const take = (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const complete = partial.split('\n');
      partial = complete.pop()!;
      this.lines.push(...complete.filter((line) => line.trim() !== ''));
      for (const waiter of this.waiters) waiter();
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first line matching `pattern` (from line `from` on); fails after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.slice(from).find((candidate) => pattern.test(candidate));
        if (line === undefined) return;
        finish();
        resolve(line);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The exit code, or a failure if it has not exited within `timeoutMs` (then it is killed). */
  async exitWithin(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([this.exited, new Promise<'running'>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'running')))]);
    clearTimeout(timer);
    if (outcome === 'running') {
      this.child.kill('SIGKILL');
      throw new Error(`still running ${timeoutMs} ms later; its output:\n${this.lines.join('\n')}`);
    }
    return outcome;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const messagesOf = (lines: readonly string[]) => lines.map((line) => parseLogLine(line)?.msg ?? line);
/** Lines that are neither JSON log records nor blank: a stack trace, console noise. */
const strayLines = (lines: readonly string[]) => lines.filter((line) => !parseLogLine(line));

describe('Redis unreachable: the rewriter, the aggregator and the tracker', () => {
  let dir: string;
  let temp: TemporaryDatabase;
  const running: Watched[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mb-redis-outage-'));
    temp = await temporaryDatabase();
  });
  afterEach(() => running.splice(0).forEach((watched) => watched.kill()));
  afterAll(async () => {
    await temp?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startApp(app: (typeof APPS)[number], redisUrl: string, env: NodeJS.ProcessEnv = {}): Promise<Watched> {
    const child = spawn(process.execPath, [...app.args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        REDIS_URL: redisUrl,
        DATABASE_URL: temp.url,
        MAILBEACON_SECRET: SECRET,
        QUEUE_PREFIX: `mbtest-outage-${process.pid}`,
        REWRITER_THREADS: '1',
        REWRITER_METRICS_PORT: '0',
        AGGREGATOR_METRICS_PORT: '0',
        TRACKER_PORT: String(await freePort()),
        SPOOL_DIR: mkdtempSync(path.join(dir, 'spool-')),
        ...env,
      },
    });
    const watched = new Watched(child);
    running.push(watched);
    return watched;
  }

  test.each(APPS.filter((app) => app.name !== 'tracker'))('$name, dead port at start-up: one clear line, exit 1, no stack', async (app) => {
    const port = await freePort();
    const watched = await startApp(app, `redis://127.0.0.1:${port}`);
    expect(await watched.exitWithin(20_000)).toBe(1);
    // Where the signing key came from (info) is said first; then the one line about Redis.
    const lines = watched.lines.filter((line) => !/^signing key /.test(String(parseLogLine(line)?.msg)));
    expect(lines).toHaveLength(1);
    expect(parseLogLine(lines[0])).toMatchObject({
      level: 60,
      msg: `cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; start it (docker compose up -d redis, or redis-server --daemonize yes) or point REDIS_URL at yours`,
    });
  });

  test('tracker, dead port at start-up: starts (events are spooled), says so in one line, stops at once on SIGTERM', async () => {
    const port = await freePort();
    const watched = await startApp(APPS.find((app) => app.name === 'tracker')!, `redis://127.0.0.1:${port}`);
    await watched.waitForLine(/cannot reach Redis/);
    await watched.waitForLine(/"tracker listening"/);
    expect(messagesOf(watched.lines).filter((msg) => /Redis/.test(msg))).toEqual([
      'Redis is unavailable or slow: tracking events go to the spool until it is back',
      expect.stringMatching(new RegExp(`^cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; `)),
    ]);
    watched.child.kill('SIGTERM');
    expect(await watched.exitWithin(5000)).toBe(0);
    expect(strayLines(watched.lines)).toEqual([]);
  });

  test.each(APPS)('$name, Redis lost while running: one line, quiet while it is away, back when it is; SIGTERM during an outage stops it at once', async (app) => {
    const own = await OwnRedis.start(mkdtempSync(path.join(dir, 'redis-')));
    try {
      const watched = await startApp(app, own.url);
      await watched.waitForLine(new RegExp(`"${app.readyMessage}"`));

      // First outage: reported once with its cause, then quiet; Redis back: said so, and work resumes.
      const lostAt = watched.lines.length;
      await own.stop();
      const lost = app.name === 'tracker' ? /Redis is unavailable or slow/ : /lost Redis at/;
      await watched.waitForLine(lost, 20_000, lostAt);
      // ioredis retries every ≤ 2 s and BullMQ's objects each report every failed attempt:
      // before, this window held dozens of lines (and stack traces on the console).
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const duringOutage = watched.lines.slice(lostAt);
      expect(strayLines(duringOutage)).toEqual([]);
      expect(duringOutage.length).toBeLessThanOrEqual(2);
      if (app.name !== 'tracker') {
        // The cause: the connection reset as Redis went, or refused on reconnecting.
        const cause = `(read ECONNRESET|connect ECONNREFUSED 127.0.0.1:${own.port})`;
        expect(messagesOf(duringOutage)).toEqual([expect.stringMatching(new RegExp(`^lost Redis at ${own.url}: ${cause}; reconnecting quietly \\(every ≤ 2 s\\) until it is back$`))]);
      }

      await own.start();
      await watched.waitForLine(app.name === 'tracker' ? /Redis is back/ : /Redis at .* is back after/, 20_000, lostAt);
      if (app.name === 'rewriter') {
        // The worker takes jobs again: one goes through (untracked: no such server here).
        const client = new MailbeaconClient({ connection: own.url, prefix: `mbtest-outage-${process.pid}` });
        try {
          await client.enqueueMessage({ messageId: '<outage@test>', server: 'srv_outage', raw: Buffer.from('From: a@b.test\r\nSubject: x\r\n\r\nhi\r\n') });
          const ready = await new Promise<unknown>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no outbound-ready job within 20 s')), 20_000);
            void client.consumeReady(async (job) => {
              clearTimeout(timer);
              resolve(job);
            });
          });
          expect(ready).toMatchObject({ messageId: '<outage@test>', skipped: expect.stringMatching(/^unknown-server: /) });
        } finally {
          await client.close();
        }
      }

      // Second outage, then SIGTERM while Redis is away: a prompt, clean stop.
      const secondAt = watched.lines.length;
      await own.stop();
      await watched.waitForLine(lost, 20_000, secondAt);
      watched.child.kill('SIGTERM');
      expect(await watched.exitWithin(5000)).toBe(0);
      expect(strayLines(watched.lines)).toEqual([]);
    } finally {
      await own.stop();
    }
  }, 90_000);
});

describe('npm start with Redis gone', () => {
  let dir: string;
  let temp: TemporaryDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mb-redis-outage-start-'));
    temp = await temporaryDatabase();
  });
  afterAll(async () => {
    await temp?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Ctrl-C while Redis is away: every app stops promptly and cleanly, none is killed', async () => {
    const own = await OwnRedis.start(mkdtempSync(path.join(dir, 'redis-')));
    const [trackerPort, adminPort] = await Promise.all([freePort(), freePort()]);
    const watched = new Watched(
      spawn(process.execPath, [path.join(REPO_ROOT, 'apps', 'pipeline', 'dist', 'main.js')], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          REDIS_URL: own.url,
          DATABASE_URL: temp.url,
          MAILBEACON_SECRET: SECRET,
          QUEUE_PREFIX: `mbtest-outage-start-${process.pid}`,
          REWRITER_THREADS: '1',
          REWRITER_METRICS_PORT: '0',
          AGGREGATOR_METRICS_PORT: '0',
          TRACKER_PORT: String(trackerPort),
          ADMIN_PORT: String(adminPort),
          SPOOL_DIR: path.join(dir, 'spool'),
        },
      }),
    );
    try {
      await watched.waitForLine(/^mailbeacon is running/, 60_000);
      const lostAt = watched.lines.length;
      await own.stop();
      await watched.waitForLine(/rewriter .*lost Redis at/, 20_000, lostAt);
      await watched.waitForLine(/aggregator .*lost Redis at/, 20_000, lostAt);
      watched.child.kill('SIGINT');
      expect(await watched.exitWithin(10_000)).toBe(0);
      const afterSignal = watched.lines.slice(lostAt);
      expect(afterSignal.at(-1)).toBe('stopped');
      expect(afterSignal.filter((line) => /SIGKILL|killed|unclean stop|Connection is closed/.test(line))).toEqual([]);
      for (const stopped of ['rewriter stopped', 'aggregator stopped', 'tracker stopped', 'admin API stopped']) expect(afterSignal.some((line) => line.includes(stopped))).toBe(true);
    } finally {
      watched.kill();
      await own.stop();
    }
  }, 90_000);
});

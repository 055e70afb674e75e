import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { MailbeaconClient, type ReadyMessage } from '@mailbeacon/client';
import { QUEUE_NAMES } from '@mailbeacon/contracts';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

/*
 * The built worker as a real process (`node dist/main.js`), killed the hard way mid-job and
 * restarted: every message must still come out exactly once. The prefix is a Redis Cluster
 * hash tag, as an operator on a cluster would configure it.
 */

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');
const SECRET = 'worker-process-test-secret-012345';

function html(i: number): string {
  const rows = Array.from({ length: 60 }, (_, r) => `<tr><td><a href="https://shop.example/item/${i}/${r}?ref=mail&amp;n=${r}">Item ${r}</a> ${'lorem ipsum '.repeat(20)}</td></tr>`);
  return `<html><body><table>${rows.join('\n')}</table></body></html>`;
}
const message = (i: number) => Buffer.from(`From: news@shop.example\r\nTo: r${i}@example.net\r\nSubject: ${i}\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html(i)}\r\n`);

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the rewriter process', () => {
  let temp: TemporaryDatabase;
  let redis: ReturnType<typeof uniquePrefix>;
  let prefix: string;
  let server: string;
  const children = new Set<ChildProcess>();

  const startWorker = (extra: NodeJS.ProcessEnv = {}): ChildProcess => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: temp.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        MAILBEACON_SECRET: SECRET,
        REWRITER_CONCURRENCY: '8',
        LOCK_DURATION_MS: '1500',
        STALLED_INTERVAL_MS: '500',
        LOG_LEVEL: 'warn',
        // Several workers run at once here: no operations server (its port would be taken).
        REWRITER_METRICS_PORT: '0',
        ...extra,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redis = uniquePrefix();
    prefix = `{${redis.prefix}}`;
    server = (await new ServerRepository(temp.db).create('Shop')).token;
    await new TrackingDomainRepository(temp.db).add({ host: 'click.shop.example', server });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await redis?.cleanup();
    // the hash-tagged keys: `{prefix}:...`
    const r = new Redis(TEST_REDIS_URL);
    const keys = await r.keys(`{${redis.prefix}}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await temp?.drop();
  });

  test('SIGKILLed mid-job and restarted, it still yields each message exactly once on outbound-ready', async () => {
    const client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix });
    const received = new Map<string, ReadyMessage[]>();
    await client.consumeReady(async (m) => void received.set(m.messageId, [...(received.get(m.messageId) ?? []), m]), { concurrency: 8 });
    const eventsConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queueEvents = new QueueEvents(QUEUE_NAMES.outboundMessages, { connection: eventsConnection, prefix });
    let stalled = 0;
    queueEvents.on('stalled', () => stalled++);
    await queueEvents.waitUntilReady();

    const total = 300;
    const ids = Array.from({ length: total }, (_, i) => `kill-${i}-${randomBytes(3).toString('hex')}`);
    let worker = startWorker();
    await client.enqueueMessages(ids.map((messageId, i) => ({ messageId, server, raw: message(i) })));

    await waitFor(() => received.size >= 30, 20000, 'the first messages');
    worker.kill('SIGKILL');
    expect(await exited(worker)).toBeNull();
    const before = received.size;
    expect(before).toBeLessThan(total);

    worker = startWorker();
    await waitFor(() => received.size === total, 60000, 'every message');
    await new Promise((r) => setTimeout(r, 1500)); // anything duplicated would arrive by now

    expect(stalled).toBeGreaterThan(0); // jobs really were in flight when the worker died
    for (const id of ids) expect(received.get(id)).toHaveLength(1);
    // every tracked message announced once as well
    const events = new Queue(QUEUE_NAMES.trackingEvents, { connection: eventsConnection, prefix });
    const counts = await events.getJobCounts('waiting', 'active', 'completed', 'delayed', 'failed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(total);
    await events.close();

    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
    await queueEvents.close();
    eventsConnection.disconnect();
    await client.close();
  }, 120000);

  test('SIGTERM finishes the jobs in hand and exits 0, leaving nothing active', async () => {
    const client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix });
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAMES.outboundMessages, { connection, prefix });
    try {
      const { completed: before } = await queue.getJobCounts('completed');
      const ids = Array.from({ length: 200 }, (_, i) => `term-${i}`);
      const worker = startWorker();
      await client.enqueueMessages(ids.map((messageId, i) => ({ messageId, server, raw: message(i) })));
      // Stop it while it is busy: some done, more in hand, most still waiting.
      for (let i = 0; i < 800 && (await queue.getJobCounts('completed')).completed < before + 10; i++) await new Promise((r) => setTimeout(r, 25));
      worker.kill('SIGTERM');
      expect(await exited(worker)).toBe(0);
      const counts = await queue.getJobCounts('active', 'waiting', 'completed', 'failed');
      expect(counts.active).toBe(0);
      expect(counts.failed).toBe(0);
      expect(counts.completed - before + counts.waiting).toBe(200);
      expect(counts.waiting).toBeGreaterThan(0);
    } finally {
      await queue.close();
      connection.disconnect();
      await client.close();
    }
  }, 60000);

  test('bad configuration exits 78 naming each variable; an unreachable database exits 1 in one line', async () => {
    const bad = startWorker({ REDIS_URL: 'http://nope', REWRITER_CONCURRENCY: 'many' });
    let stderr = '';
    bad.stderr!.on('data', (d) => (stderr += d));
    expect(await exited(bad)).toBe(78);
    expect(stderr).toMatch(/REDIS_URL: .*\n.*REWRITER_CONCURRENCY: /);

    const shortSecret = startWorker({ MAILBEACON_SECRET: 'short' });
    let secretErr = '';
    shortSecret.stderr!.on('data', (d) => (secretErr += d));
    expect(await exited(shortSecret)).toBe(78);
    expect(secretErr).toMatch(/MAILBEACON_SECRET: must be at least 16 characters/);

    const down = startWorker({ DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:1/x', LOG_LEVEL: 'info' });
    expect(await exited(down)).toBe(1);
  }, 30000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '@mailbeacon/db';
import { capturingLogger, OwnPostgres, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { startAggregator } from '../src/aggregator';
import { loadAggregatorConfig } from '../src/config';
import { enqueue, eventsQueue, eventStream, expectedTotals, queueDrained, storedTotals, waitUntil } from './event-stream';

/*
 * The aggregator as a real process (`node dist/main.js`) killed the hard way, stopped politely,
 * and facing a PostgreSQL server that goes away: every event is counted exactly once anyway.
 */

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');

describe('the aggregator process', () => {
  let temp: TemporaryDatabase;
  let redis: ReturnType<typeof uniquePrefix>;
  let events: ReturnType<typeof eventsQueue>;
  const children = new Set<ChildProcess>();

  const startProcess = (env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: temp.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: redis.prefix,
        AGGREGATOR_BATCH_SIZE: '200',
        AGGREGATOR_BATCH_WAIT_MS: '100',
        LOCK_DURATION_MS: '2000',
        STALLED_INTERVAL_MS: '500',
        LOG_LEVEL: 'warn',
        // Several aggregators run at once here: no operations server (its port would be taken).
        AGGREGATOR_METRICS_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
  const storedEvents = async () => {
    const totals = await storedTotals(temp.db);
    return totals.knownMessages + totals.rawOpens + totals.rawClicks;
  };
  const nothingLeft = () => queueDrained(events.queue);

  beforeEach(async () => {
    temp = await temporaryDatabase();
    redis = uniquePrefix();
    events = eventsQueue(redis.prefix, TEST_REDIS_URL);
  });

  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    await events.close();
    await redis.cleanup();
    await temp.drop();
  });

  test('SIGKILLed right after a commit, before its jobs were completed, and restarted: exact counts', async () => {
    const stream = eventStream('k', 300, 10);
    await enqueue(events.queue, [...stream.messages, ...stream.hits]);
    const first = startProcess();
    // Kill the moment the first batch is committed: its jobs are not completed yet.
    const client = new pg.Client({ connectionString: temp.url });
    await client.connect();
    try {
      // Polled as fast as Postgres answers: the kill must land between the commit and the completion of its jobs.
      const deadline = Date.now() + 30_000;
      while ((await client.query('select 1 from messages where platform_message_id is not null limit 1')).rowCount === 0) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the first commit');
      }
      first.kill('SIGKILL');
    } finally {
      await client.end();
    }
    await exited(first);
    const stored = await storedEvents();
    const completed = await events.queue.getCompletedCount();
    expect(completed).toBeLessThan(stored); // committed, but the queue does not know yet

    // Killed again at some random later moment.
    const second = startProcess();
    await waitUntil(async () => (await storedEvents()) > stored + 500, 30_000, 'more commits');
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 200));
    second.kill('SIGKILL');
    await exited(second);

    const third = startProcess();
    await waitUntil(nothingLeft, 60_000, 'the queue to drain after the restarts');
    expect(await storedTotals(temp.db)).toEqual(expectedTotals(stream));
    expect(await events.queue.getCompletedCount()).toBe(stream.messages.length + stream.hits.length);
    expect(await events.queue.getFailedCount()).toBe(0);
    third.kill('SIGTERM');
    expect(await exited(third)).toBe(0);
  }, 120_000);

  test('SIGTERM writes the batches in hand and exits 0; what was not taken stays queued', async () => {
    const stream = eventStream('t', 300, 10);
    await enqueue(events.queue, [...stream.messages, ...stream.hits]);
    const child = startProcess({ AGGREGATOR_BATCH_SIZE: '100' });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitUntil(async () => (await storedEvents()) > 0, 30_000, 'the first commit');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    // Every job the queue saw completed is stored; nothing is left active or failed.
    const counts = await events.queue.getJobCounts('completed', 'active', 'failed', 'waiting', 'delayed');
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect(counts.completed).toBe(await storedEvents());
    expect(counts.waiting + counts.delayed + counts.completed).toBe(stream.messages.length + stream.hits.length);
    expect(stderr).not.toMatch(/"level":(50|60)/);

    const again = startProcess();
    await waitUntil(nothingLeft, 60_000, 'the rest');
    expect(await storedTotals(temp.db)).toEqual(expectedTotals(stream));
    again.kill('SIGTERM');
    expect(await exited(again)).toBe(0);
  }, 120_000);

  test('PostgreSQL going away (stopped, then crashed) mid-stream: events wait in Redis, it resumes by itself, exact counts', async () => {
    const postgres = await OwnPostgres.start();
    const url = postgres.url('mailbeacon_outage');
    const log = capturingLogger('warn');
    const aggregator = await startAggregator(
      loadAggregatorConfig({ DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: redis.prefix, AGGREGATOR_BATCH_SIZE: '100', AGGREGATOR_BATCH_WAIT_MS: '20', AGGREGATOR_METRICS_PORT: '0' }),
      log.logger,
    );
    const db = createDatabase(url, { maxConnections: 2 });
    try {
      const stream = eventStream('p', 60, 10);
      const all = [...stream.messages, ...stream.hits];
      const thirds = [all.slice(0, 200), all.slice(200, 400), all.slice(400)];
      await enqueue(events.queue, thirds[0]);
      await waitUntil(nothingLeft, 20_000, 'the first part');

      await postgres.stop('fast');
      await enqueue(events.queue, thirds[1]);
      await waitUntil(() => aggregator.stats.retries >= 2, 20_000, 'retries while the server is down');
      const during = await events.queue.getJobCounts('completed', 'failed');
      expect(during).toEqual({ completed: 200, failed: 0 });
      await postgres.start();
      await waitUntil(nothingLeft, 30_000, 'the second part after the restart');

      await enqueue(events.queue, thirds[2]);
      await postgres.kill(); // a crash, mid-stream
      await new Promise((resolve) => setTimeout(resolve, 300));
      await postgres.start();
      await waitUntil(nothingLeft, 30_000, 'the rest after crash recovery');

      expect(await storedTotals(db)).toEqual(expectedTotals(stream));
      expect(await events.queue.getFailedCount()).toBe(0);
      expect(log.records.some((record) => record.msg === 'PostgreSQL unavailable; batch will be retried')).toBe(true);
    } finally {
      await aggregator.close();
      await db.destroy();
      await postgres.destroy();
    }
  }, 120_000);
});

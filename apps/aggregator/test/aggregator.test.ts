import { jobIdForEvent, TRACKING_EVENT_JOB_OPTIONS } from '@mailbeacon/contracts';
import { capturingLogger, clickEventFixture, messageEventFixture, openEventFixture, fixtureToken, temporaryDatabase, TEST_POSTGRES_URL, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { sql } from 'kysely';
import pg from 'pg';
import { startAggregator, type RunningAggregator } from '../src/aggregator';
import { loadAggregatorConfig } from '../src/config';
import { enqueue, eventsQueue, eventStream, expectedTotals, queueDrained, storedTotals, testAggregatorConfig, waitUntil } from './event-stream';

/* The aggregator in this process, on the real queue and a database of its own. */

let temp: TemporaryDatabase;
let redis: ReturnType<typeof uniquePrefix>;
let events: ReturnType<typeof eventsQueue>;
let running: RunningAggregator | undefined;
let log: ReturnType<typeof capturingLogger>;

async function start(env: Record<string, string> = {}): Promise<RunningAggregator> {
  const config = testAggregatorConfig(temp.url, redis.prefix, env);
  log = capturingLogger('info');
  running = await startAggregator(config, log.logger);
  return running;
}

beforeEach(async () => {
  temp = await temporaryDatabase();
  redis = uniquePrefix();
  events = eventsQueue(redis.prefix, TEST_REDIS_URL);
});

afterEach(async () => {
  await running?.close();
  running = undefined;
  await events.close();
  await redis.cleanup();
  await temp.drop();
});

const nothingLeft = () => queueDrained(events.queue);

describe('the aggregator', () => {
  test('a stream through the queue ends with exact counts in every table, in batches', async () => {
    const stream = eventStream('s', 40, 6);
    await enqueue(events.queue, [...stream.messages, ...stream.hits]);
    const aggregator = await start();
    await waitUntil(nothingLeft, 20_000, 'the queue to drain');
    expect(await storedTotals(temp.db)).toEqual(expectedTotals(stream));
    expect(await events.queue.getCompletedCount()).toBe(stream.messages.length + stream.hits.length);
    expect(aggregator.stats).toMatchObject({ events: 280, stored: 280, duplicates: 0, failed: 0 });
    // 280 events in batches of at most 50.
    expect(aggregator.stats.batches).toBeGreaterThanOrEqual(6);
    expect(aggregator.stats.batches).toBeLessThan(280);
  });

  test('events already counted (a spool replayed after their jobs were removed) are not counted again', async () => {
    const stream = eventStream('d', 10, 3);
    await enqueue(events.queue, [...stream.messages, ...stream.hits]);
    const aggregator = await start();
    await waitUntil(nothingLeft, 20_000, 'the queue to drain');
    // The completed jobs are gone (a day later); the same events arrive again under new job ids.
    await events.queue.clean(0, 0, 'completed');
    await events.queue.addBulk(stream.hits.map((event) => ({ name: event.type, data: event, opts: { ...TRACKING_EVENT_JOB_OPTIONS, jobId: `replay.${event.id}` } })));
    await waitUntil(async () => (await events.queue.getCompletedCount()) === stream.hits.length, 20_000, 'the replay to be processed');
    expect(await storedTotals(temp.db)).toEqual(expectedTotals(stream));
    expect(aggregator.stats.duplicates).toBe(stream.hits.length);
  });

  test('opens and clicks queued before their message are counted, and attributed once it arrives', async () => {
    const stream = eventStream('o', 10, 3);
    await start();
    await enqueue(events.queue, stream.hits);
    await waitUntil(nothingLeft, 20_000, 'the hits');
    expect(await storedTotals(temp.db)).toMatchObject({ knownMessages: 0, messageOpens: stream.opens, messageClicks: stream.clicks, hourlyOpens: 0 });
    await enqueue(events.queue, stream.messages);
    await waitUntil(nothingLeft, 20_000, 'the messages');
    expect(await storedTotals(temp.db)).toEqual(expectedTotals(stream));
  });

  test('an invalid event fails its own job (kept, logged), the others are stored', async () => {
    const good = openEventFixture(fixtureToken('g'), { at: Date.now() });
    await events.queue.add('open', { type: 'open', id: 'not-a-uuid' }, { jobId: 'event.bad', attempts: 5 });
    await events.queue.add('open', good, { ...TRACKING_EVENT_JOB_OPTIONS, jobId: jobIdForEvent(good.id) });
    await start();
    await waitUntil(async () => (await events.queue.getFailedCount()) === 1 && (await events.queue.getCompletedCount()) === 1, 20_000, 'both jobs');
    const [failed] = await events.queue.getFailed();
    expect(failed.id).toBe('event.bad');
    expect(failed.failedReason).toMatch(/invalid TrackingEvent/);
    expect(failed.attemptsMade).toBe(1); // unrecoverable: not retried
    expect((await storedTotals(temp.db)).rawOpens).toBe(1);
    expect(log.records.some((record) => record.msg === 'tracking event job failed')).toBe(true);
  });

  test('events whose time is far from now fail their jobs as invalid, saying why; no partition or time is made of them', async () => {
    const token = fixtureToken('time');
    const now = Date.now();
    const good = openEventFixture(token, { at: now - 60_000 });
    const future = { ...openEventFixture(token, { at: now }), at: '2999-01-01T00:00:00Z' };
    const unstorable = { ...clickEventFixture(token, 0, { at: now }), at: '9999-12-31T23:59:59.999Z' };
    const ancient = { ...messageEventFixture(token, { at: now }), at: '1970-01-01T00:00:00Z' };
    await enqueue(events.queue, [future, unstorable, ancient, good]);
    const aggregator = await start();
    const failureLines = () => log.records.filter((record) => record.msg === 'tracking event job failed');
    // The log line comes from the worker's 'failed' event, which may follow Redis's count.
    await waitUntil(async () => (await events.queue.getFailedCount()) === 3 && (await events.queue.getCompletedCount()) === 1 && failureLines().length === 3, 20_000, 'all four jobs');
    const failed = new Map((await events.queue.getFailed()).map((job) => [job.id, job]));
    expect(failed.get(jobIdForEvent(future.id))?.failedReason).toBe('invalid TrackingEvent: at: must not be more than 60 minutes in the future (clock skew); got 2999-01-01T00:00:00Z');
    expect(failed.get(jobIdForEvent(unstorable.id))?.failedReason).toMatch(/^invalid TrackingEvent: at: must not be more than 60 minutes in the future/);
    expect(failed.get(jobIdForEvent(ancient.id))?.failedReason).toMatch(/^invalid TrackingEvent: at: must not be more than 90 days in the past/);
    for (const job of failed.values()) expect(job.attemptsMade).toBe(1); // unrecoverable: not retried
    expect(aggregator.stats).toMatchObject({ stored: 1, failed: 0 });
    const row = await temp.db.selectFrom('messages').select(['opens', 'last_opened_at', 'sent_at']).where('token', '=', token).executeTakeFirstOrThrow();
    expect(row).toEqual({ opens: 1, last_opened_at: new Date(Date.parse(good.at)), sent_at: null });
    const partitions = await sql<{ name: string }>`select tablename as name from pg_tables where tablename ~ '^(opens|clicks)_p(2999|9999|1970)'`.execute(temp.db);
    expect(partitions.rows).toEqual([]);
  });

  test('a click whose URL holds NUL is counted and stored (with a replacement character), not retried', async () => {
    const token = fixtureToken('nul');
    const sentAt = Date.now() - 3_600_000;
    const url = 'https://shop.example.com/a\0b?c=\0';
    const click = { ...clickEventFixture(token, 0, { at: sentAt + 60_000 }), url };
    await enqueue(events.queue, [messageEventFixture(token, { at: sentAt }), click]);
    const aggregator = await start();
    await waitUntil(async () => (await events.queue.getCompletedCount()) === 2 || (await events.queue.getFailedCount()) > 0 || aggregator.stats.failed > 0, 20_000, 'both events');
    expect(aggregator.stats).toMatchObject({ stored: 2, failed: 0, retries: 0 });
    const stored = 'https://shop.example.com/a\uFFFDb?c=\uFFFD';
    expect(await temp.db.selectFrom('clicks').select(['url', 'machine']).execute()).toEqual([{ url: stored, machine: false }]);
    expect(await temp.db.selectFrom('link_stats').select(['url', 'clicks', 'human_clicks']).execute()).toEqual([{ url: stored, clicks: 1, human_clicks: 1 }]);
    expect(await temp.db.selectFrom('messages').select(['clicks', 'human_clicks']).where('token', '=', token).execute()).toEqual([{ clicks: 1, human_clicks: 1 }]);
  });

  test('connections killed mid-batch (pg_terminate_backend): retried with backoff, exact counts', async () => {
    const stream = eventStream('k', 60, 10);
    const aggregator = await start({ AGGREGATOR_BATCH_SIZE: '100', AGGREGATOR_BATCH_WAIT_MS: '50' });
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    const database = new URL(temp.url).pathname.slice(1);
    let killed = 0;
    let publishing = true;
    // While the stream comes in, every backend of the database that is busy (in a batch) is
    // terminated: batches are cut off mid-transaction or mid-commit.
    const killer = (async () => {
      while (publishing) {
        const result = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and state <> 'idle'", [database]);
        killed += result.rowCount ?? 0;
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    try {
      const all = [...stream.messages, ...stream.hits];
      for (let i = 0; i < all.length; i += 20) {
        await enqueue(events.queue, all.slice(i, i + 20));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      // Should no batch have been cut off yet, the stream goes on (more messages) until one is.
      for (let more = 0; aggregator.stats.retries === 0; more++) {
        if (more > 500) throw new Error('no batch was ever cut off');
        const extra = eventStream(`k${more}x`, 2, 5);
        stream.messages.push(...extra.messages);
        stream.hits.push(...extra.hits);
        stream.opens += extra.opens;
        stream.clicks += extra.clicks;
        await enqueue(events.queue, [...extra.messages, ...extra.hits]);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    } finally {
      publishing = false;
      await killer;
      await admin.end();
    }
    await waitUntil(nothingLeft, 30_000, 'the queue to drain');
    expect(killed).toBeGreaterThan(0);
    expect(aggregator.stats.retries).toBeGreaterThan(0);
    expect(await storedTotals(temp.db)).toEqual(expectedTotals(stream));
    expect(await events.queue.getFailedCount()).toBe(0);
  }, 60_000);

  test('a batch window not far below the job lock is refused at start-up', () => {
    expect(() => loadAggregatorConfig({ AGGREGATOR_BATCH_WAIT_MS: '5000', LOCK_DURATION_MS: '30000' })).toThrow(/AGGREGATOR_BATCH_WAIT_MS: must be at most a tenth of LOCK_DURATION_MS/);
    expect(() => loadAggregatorConfig({ AGGREGATOR_BATCH_SIZE: '0', RETENTION_DAYS: '-3' })).toThrow(/AGGREGATOR_BATCH_SIZE[\s\S]*RETENTION_DAYS/);
  });
});

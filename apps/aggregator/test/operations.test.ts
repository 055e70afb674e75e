import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jobIdForEvent, QUEUE_NAMES, TRACKING_EVENT_JOB_OPTIONS } from '@mailbeacon/contracts';
import { capturingLogger, fixtureToken, freePort, openEventFixture, OwnPostgres, OwnRedis, sampleValue, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { startAggregator, type RunningAggregator } from '../src/aggregator';
import { loadAggregatorConfig } from '../src/config';
import { enqueue, eventsQueue, eventStream, queueDrained, testAggregatorConfig, waitUntil } from './event-stream';

/* The aggregator's operations server, metrics and log lines, on the real queue and databases. */

const get = async (base: string, route: string) => {
  const res = await fetch(`${base}${route}`);
  return { status: res.status, text: await res.text() };
};

describe('the aggregator operations server', () => {
  let temp: TemporaryDatabase;
  let redis: ReturnType<typeof uniquePrefix>;
  let events: ReturnType<typeof eventsQueue>;
  let running: RunningAggregator | undefined;
  let log: ReturnType<typeof capturingLogger>;

  const start = async (env: Record<string, string> = {}) => {
    log = capturingLogger('info');
    running = await startAggregator(
      testAggregatorConfig(temp.url, redis.prefix, { AGGREGATOR_METRICS_PORT: String(await freePort()), ...env }),
      log.logger,
    );
    return running;
  };
  const metrics = async () => (await get(running!.operations!.url, '/metrics')).text;
  const nothingLeft = () => queueDrained(events.queue);

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

  test('batches, stored events by type, lag per stored event, queue depth; /healthz and /readyz 200', async () => {
    const stream = eventStream('ops', 10, 3);
    const aggregator = await start();
    await enqueue(events.queue, [...stream.messages, ...stream.hits]);
    await waitUntil(nothingLeft, 20_000, 'the queue to drain');
    const total = stream.messages.length + stream.hits.length;

    let text = await metrics();
    const batches = sampleValue(text, 'mailbeacon_aggregator_batches_total')!;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBe(aggregator.stats.batches);
    expect(sampleValue(text, 'mailbeacon_aggregator_batch_size_count')).toBe(batches);
    expect(sampleValue(text, 'mailbeacon_aggregator_batch_size_sum')).toBe(total);
    expect(sampleValue(text, 'mailbeacon_aggregator_batch_write_duration_seconds_count')).toBe(batches);
    const stored = { message: stream.messages.length, open: stream.opens, click: stream.clicks };
    for (const [type, count] of Object.entries(stored)) {
      expect(sampleValue(text, 'mailbeacon_aggregator_events_stored_total', { type })).toBe(count);
      expect(sampleValue(text, 'mailbeacon_aggregator_events_duplicate_total', { type })).toBe(0);
      // One lag observation per stored event, each about an hour (the stream's events are from the last hour).
      expect(sampleValue(text, 'mailbeacon_aggregator_event_lag_seconds_count', { type })).toBe(count);
      expect(sampleValue(text, 'mailbeacon_aggregator_event_lag_seconds_sum', { type })).toBeGreaterThan(count * 60);
      expect(sampleValue(text, 'mailbeacon_aggregator_event_lag_seconds_bucket', { type, le: '30' })).toBe(0);
    }
    expect(sampleValue(text, 'mailbeacon_aggregator_batch_retries_total')).toBe(0);
    const queue = { queue: QUEUE_NAMES.trackingEvents };
    for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(sampleValue(text, 'mailbeacon_aggregator_queue_jobs', { ...queue, state })).toBe(0);
    expect(sampleValue(text, 'mailbeacon_aggregator_oldest_waiting_job_age_seconds', queue)).toBe(0);
    expect(sampleValue(text, 'mailbeacon_aggregator_redis_connected')).toBe(1);
    expect(sampleValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // No token or event id ever becomes a label.
    expect(text).not.toContain(stream.messages[0].messageToken);

    // The same hits again under new job ids (a spool replayed): duplicates, by type.
    await events.queue.addBulk(stream.hits.map((event) => ({ name: event.type, data: event, opts: { ...TRACKING_EVENT_JOB_OPTIONS, jobId: `replay.${event.id}` } })));
    await waitUntil(async () => (await events.queue.getCompletedCount()) === total + stream.hits.length, 20_000, 'the replay');
    text = await metrics();
    expect(sampleValue(text, 'mailbeacon_aggregator_events_duplicate_total', { type: 'open' })).toBe(stream.opens);
    expect(sampleValue(text, 'mailbeacon_aggregator_events_duplicate_total', { type: 'click' })).toBe(stream.clicks);
    expect(sampleValue(text, 'mailbeacon_aggregator_event_lag_seconds_count', { type: 'open' })).toBe(stream.opens); // duplicates add no lag

    expect(await get(aggregator.operations!.url, '/healthz')).toEqual({ status: 200, text: 'ok\n' });
    expect(await get(aggregator.operations!.url, '/readyz')).toEqual({ status: 200, text: 'ready\n' });
  });

  test('the age of the oldest waiting job grows while nothing is taken', async () => {
    const aggregator = await start();
    await aggregator.worker.pause();
    const first = openEventFixture(fixtureToken('wait1'), { at: Date.now() });
    await enqueue(events.queue, [first]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await enqueue(events.queue, [openEventFixture(fixtureToken('wait2'), { at: Date.now() })]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const text = await metrics();
    const queue = { queue: QUEUE_NAMES.trackingEvents };
    // The older of the two: at least 1.2 s, not the newer one's 0.6 s.
    expect(sampleValue(text, 'mailbeacon_aggregator_oldest_waiting_job_age_seconds', queue)).toBeGreaterThanOrEqual(1.1);
    expect(sampleValue(text, 'mailbeacon_aggregator_queue_jobs', { ...queue, state: 'waiting' })).toBe(2);
    aggregator.worker.resume();
    await waitUntil(nothingLeft, 20_000, 'the queue to drain');
    expect(sampleValue(await metrics(), 'mailbeacon_aggregator_oldest_waiting_job_age_seconds', queue)).toBe(0);
  });

  test('an event PostgreSQL refuses: counted as failed, and every line about it names its message token and event id', async () => {
    const good = openEventFixture(fixtureToken('good'), { at: Date.now() });
    const poison = openEventFixture(fixtureToken('poison'), { at: Date.now() });
    // The test's own database refuses this one event, as a bad row would be refused.
    await sql
      .raw(
        `create function refuse_poison() returns trigger language plpgsql as $$ begin
           if new.id = '${poison.id}'::uuid then raise exception 'refused by the test' using errcode = 'check_violation'; end if;
           return new; end $$;
         create trigger refuse_poison before insert on opens for each row execute function refuse_poison();`,
      )
      .execute(temp.db);
    await start();
    await enqueue(events.queue, [good, poison]);
    await events.queue.add('open', { type: 'open', id: 'not-a-uuid' }, { jobId: 'event.invalid', attempts: 1 });
    await waitUntil(() => log.records.some((record) => record.msg === 'tracking event job failed' && record.eventId === poison.id), 20_000, 'the poison event to fail');
    await waitUntil(() => log.records.some((record) => record.msg === 'tracking event job failed' && record.jobId === 'event.invalid'), 20_000, 'the invalid event to fail');

    const stored = log.records.filter((record) => record.msg === 'event could not be stored; its job will be retried and then kept as failed');
    expect(stored.length).toBeGreaterThanOrEqual(1);
    for (const record of stored) expect(record).toMatchObject({ messageToken: poison.messageToken, eventId: poison.id, type: 'open' });
    const failed = log.records.filter((record) => record.msg === 'tracking event job failed' && record.jobId !== 'event.invalid');
    for (const record of failed) expect(record).toMatchObject({ messageToken: poison.messageToken, eventId: poison.id, jobId: jobIdForEvent(poison.id) });
    const invalid = log.records.find((record) => record.jobId === 'event.invalid')!;
    expect(invalid).toMatchObject({ eventId: 'not-a-uuid' });

    const text = await metrics();
    expect(sampleValue(text, 'mailbeacon_aggregator_events_failed_total', { type: 'open', reason: 'write' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(text, 'mailbeacon_aggregator_events_failed_total', { type: 'open', reason: 'invalid' })).toBe(1);
    expect(sampleValue(text, 'mailbeacon_aggregator_events_stored_total', { type: 'open' })).toBe(1);
  });
});

describe('aggregator readiness follows PostgreSQL (a server of its own)', () => {
  test('/readyz: 200, then 503 naming PostgreSQL once it is stopped, then 200 again; /healthz stays 200', async () => {
    const postgres = await OwnPostgres.start();
    const redis = uniquePrefix();
    let aggregator: RunningAggregator | undefined;
    try {
      aggregator = await startAggregator(
        loadAggregatorConfig({
          DATABASE_URL: postgres.url('mailbeacon_ready'),
          REDIS_URL: TEST_REDIS_URL,
          QUEUE_PREFIX: redis.prefix,
          AGGREGATOR_METRICS_PORT: String(await freePort()),
        }),
        capturingLogger('fatal').logger,
      );
      const url = aggregator.operations!.url;
      expect(await get(url, '/readyz')).toEqual({ status: 200, text: 'ready\n' });

      await postgres.stop('fast');
      let answer = await get(url, '/readyz');
      for (const end = Date.now() + 15_000; answer.status === 200 && Date.now() < end; answer = await get(url, '/readyz')) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(answer.status).toBe(503);
      expect(answer.text).toMatch(/^not ready: PostgreSQL: /);
      expect(await get(url, '/healthz')).toEqual({ status: 200, text: 'ok\n' });

      await postgres.start();
      for (const end = Date.now() + 15_000; answer.status !== 200 && Date.now() < end; answer = await get(url, '/readyz')) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(answer).toEqual({ status: 200, text: 'ready\n' });
    } finally {
      await aggregator?.close();
      await redis.cleanup();
      await postgres.destroy();
    }
  }, 60_000);
});

test('AGGREGATOR_METRICS_PORT (default 8083, 0 = off) and METRICS_HOST (default loopback) are validated with the rest', () => {
  expect(loadAggregatorConfig({})).toMatchObject({ AGGREGATOR_METRICS_PORT: 8083, METRICS_HOST: '127.0.0.1' });
  expect(loadAggregatorConfig({ AGGREGATOR_METRICS_PORT: '0', METRICS_HOST: '::' })).toMatchObject({ AGGREGATOR_METRICS_PORT: 0, METRICS_HOST: '::' });
  expect(() => loadAggregatorConfig({ AGGREGATOR_METRICS_PORT: '-1', METRICS_HOST: 'bad host' })).toThrow(/AGGREGATOR_METRICS_PORT: must be an integer from 0 \(off\) to 65535[\s\S]*METRICS_HOST: must be an IP address or a host name/);
});

describe("the aggregator and Redis's eviction policy (a Redis of its own)", () => {
  test('allkeys-lru: one warning at start-up; noeviction: none', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mb-aggregator-eviction-'));
    const own = await OwnRedis.start(dir);
    const temp = await temporaryDatabase();
    // BullMQ also notices the policy, but only on the console: kept quiet here.
    const bullmqWarning = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const warningsWith = async (policy: string) => {
        const admin = new Redis(own.url);
        await admin.config('SET', 'maxmemory-policy', policy);
        admin.disconnect();
        const log = capturingLogger('info');
        const running = await startAggregator(loadAggregatorConfig({ DATABASE_URL: temp.url, REDIS_URL: own.url, AGGREGATOR_METRICS_PORT: '0' }), log.logger);
        await running.close();
        return log.records.filter((record) => record.level === 40);
      };
      const warnings = await warningsWith('allkeys-lru');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ maxmemoryPolicy: 'allkeys-lru', required: 'noeviction' });
      expect(await warningsWith('noeviction')).toEqual([]);
    } finally {
      bullmqWarning.mockRestore();
      await own.stop();
      await temp.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidPayloadError, jobIdForEvent, type TrackingEvent } from '@mailbeacon/contracts';
import { DEFAULT_SPOOL_FILE_NAME, EventPublisher, type BatchReport, type EventPublisherOptions } from '@mailbeacon/event-publisher';
import { capturingLogger, TEST_REDIS_URL, uniquePrefix } from '@mailbeacon/testing';
import { events, freePort, inspectQueue, openEvent, spoolLine, tempDir, timed, type TempDir } from './support';

describe('EventPublisher (real Redis)', () => {
  let prefix: ReturnType<typeof uniquePrefix>;
  let dir: TempDir;
  let queue: ReturnType<typeof inspectQueue>;
  const publishers: EventPublisher[] = [];

  async function startPublisher(options: Partial<EventPublisherOptions> = {}): Promise<EventPublisher> {
    const publisher = new EventPublisher({
      redisUrl: TEST_REDIS_URL,
      prefix: prefix.prefix,
      spoolDirectory: dir.path,
      logger: capturingLogger().logger,
      ...options,
    });
    publishers.push(publisher);
    await publisher.start();
    return publisher;
  }

  /** Nothing listens there: Redis is down for this publisher from the start. */
  const deadRedisUrl = async () => `redis://127.0.0.1:${await freePort()}`;

  beforeEach(async () => {
    prefix = uniquePrefix();
    dir = await tempDir();
    queue = inspectQueue(TEST_REDIS_URL, prefix.prefix);
  });
  afterEach(async () => {
    await Promise.all(publishers.splice(0).map((p) => p.close()));
    await queue.close();
    await prefix.cleanup();
    await dir.remove();
  });

  test('group commit: 1,000 concurrent events go out in a handful of batches, each as its own job', async () => {
    const reports: BatchReport[] = [];
    // What this checks is how events are grouped, not the fallback to the spool (tested
    // below): on a loaded machine the first add of 500 jobs can take longer than the default
    // 250 ms, and once one batch is spooled the later ones join it there, so 0 events reach
    // Redis directly. Hence a timeout no machine reaches, and a start() that waits for the
    // connection to be ready (it gives up after connectTimeoutMs otherwise).
    const publisher = await startPublisher({ onBatch: (report) => reports.push(report), redisTimeoutMs: 60_000, connectTimeoutMs: 60_000 });
    expect(publisher.stats().redisConnected).toBe(true);
    const sent = events(1000);

    await Promise.all(sent.map((event) => publisher.publish(event)));

    const stats = publisher.stats();
    expect(stats.eventsToRedis).toBe(1000);
    expect(stats.eventsSpooled).toBe(0);
    expect(stats.batches).toBeGreaterThanOrEqual(2); // maxBatch is 500
    expect(stats.batches).toBeLessThanOrEqual(5);
    expect(stats.largestBatchSize).toBe(500);
    expect(reports.map((r) => r.destination)).toEqual(reports.map(() => 'redis'));
    expect(reports.reduce((sum, r) => sum + r.size, 0)).toBe(1000);

    const jobs = await queue.queue.getJobs(['wait'], 0, -1, true);
    expect(jobs).toHaveLength(1000);
    expect(jobs.map((job) => job.id)).toEqual(sent.map((event) => jobIdForEvent(event.id)));
    const byId = new Map(jobs.map((job) => [job.id, job]));
    for (const event of sent) {
      const job = byId.get(jobIdForEvent(event.id))!;
      expect(job.name).toBe(event.type);
      expect(job.data).toEqual(event);
      expect(job.opts).toMatchObject({ attempts: 20, removeOnComplete: { age: 86_400 } });
    }
  });

  test('the same event published twice (together or later) is one job', async () => {
    const publisher = await startPublisher();
    const event = openEvent();
    const other = openEvent();
    await Promise.all([publisher.publish(event), publisher.publish(event), publisher.publish(other)]);
    await publisher.publish(event);
    expect(await queue.waitingIds()).toEqual([jobIdForEvent(event.id), jobIdForEvent(other.id)]);
    expect(publisher.stats().eventsToRedis).toBe(4);
  });

  test('invalid events are refused, naming the field', async () => {
    const publisher = await startPublisher();
    const bad = { ...openEvent(), id: 'not-a-uuid' } as TrackingEvent;
    await expect(publisher.publish(bad)).rejects.toThrow(InvalidPayloadError);
    await expect(publisher.publish(bad)).rejects.toThrow(/id/);
    expect(await queue.waitingIds()).toEqual([]);
  });

  test('publish() before start() or after close() is refused', async () => {
    const publisher = new EventPublisher({ redisUrl: TEST_REDIS_URL, prefix: prefix.prefix, spoolDirectory: dir.path, logger: capturingLogger().logger });
    publishers.push(publisher);
    await expect(publisher.publish(openEvent())).rejects.toThrow(/start/);
    await publisher.start();
    await publisher.close();
    await expect(publisher.publish(openEvent())).rejects.toThrow(/closed/);
  });

  test('on Redis Cluster the prefix must be a hash tag (BullMQ needs each queue in one slot)', () => {
    const options = { redisUrl: 'redis-cluster://127.0.0.1:7000,127.0.0.1:7001', spoolDirectory: dir.path };
    expect(() => new EventPublisher({ ...options, prefix: 'mailbeacon' })).toThrow(/prefix must contain a hash tag such as \{mb\} on Redis Cluster/);
    expect(() => new EventPublisher(options)).toThrow(RangeError); // the default prefix has none either
    expect(() => new EventPublisher({ ...options, prefix: '{mb}' })).not.toThrow();
  });

  test('close() drains the pending events to Redis', async () => {
    // A delay far longer than the test: only close() can send them.
    const publisher = await startPublisher({ maxDelayMs: 60_000, maxBatch: 10_000 });
    const sent = events(50);
    let resolved = 0;
    const published = sent.map((event) => publisher.publish(event).then(() => (resolved += 1)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(0);
    expect(publisher.stats().pendingEvents).toBe(50);

    await publisher.close();
    expect(resolved).toBe(50);
    await Promise.all(published);
    expect(await queue.waitingIds()).toEqual(sent.map((event) => jobIdForEvent(event.id)));
  });

  test('close() drains the pending events to the spool when Redis is down', async () => {
    const publisher = await startPublisher({ redisUrl: await deadRedisUrl(), maxDelayMs: 60_000, maxBatch: 10_000 });
    const sent = events(5);
    const published = Promise.all(sent.map((event) => publisher.publish(event)));
    await publisher.close();
    await published;
    const file = path.join(dir.path, DEFAULT_SPOOL_FILE_NAME);
    expect(await readFile(file, 'utf8')).toBe(sent.map(spoolLine).join(''));
  });

  test('restart: a spool left by an instance that ran while Redis was down is replayed by start(), in order', async () => {
    // The previous run: Redis unreachable the whole time.
    const previous = await startPublisher({ redisUrl: await deadRedisUrl() });
    const sent = events(30);
    for (let i = 0; i < sent.length; i += 10) {
      const { ms } = await timed(() => Promise.all(sent.slice(i, i + 10).map((event) => previous.publish(event))));
      expect(ms).toBeLessThan(1000);
    }
    expect(previous.stats()).toMatchObject({ eventsSpooled: 30, eventsToRedis: 0, spoolEvents: 30, redisConnected: false });
    await previous.close();

    // The next run, with Redis back: start() replays before returning.
    const { logger, records } = capturingLogger();
    const next = await startPublisher({ logger });
    expect(await queue.waitingIds()).toEqual(sent.map((event) => jobIdForEvent(event.id)));
    expect(next.stats()).toMatchObject({ eventsReplayed: 30, spoolBytes: 0, spoolEvents: 0 });
    expect((await stat(next.spoolPath!)).size).toBe(0);
    expect(records).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/left in the spool by a previous run/), events: 30 }));

    // New events now go straight to Redis, after the replayed ones.
    const later = openEvent();
    await next.publish(later);
    expect(next.stats().eventsToRedis).toBe(1);
    expect((await queue.waitingIds()).at(-1)).toBe(jobIdForEvent(later.id));
  });

  test('restart: a torn trailing line and a garbage line in the leftover spool are set aside and reported, not fatal', async () => {
    const [a, b, c] = events(3);
    const torn = spoolLine(openEvent()).slice(0, 57);
    await writeFile(path.join(dir.path, DEFAULT_SPOOL_FILE_NAME), spoolLine(a) + 'garbage\n' + spoolLine(b) + spoolLine(c) + torn);

    const { logger, records } = capturingLogger();
    const publisher = await startPublisher({ logger });
    expect(await queue.waitingIds()).toEqual([a, b, c].map((event) => jobIdForEvent(event.id)));
    expect(publisher.stats()).toMatchObject({ eventsReplayed: 3, spoolRejectedLines: 2, spoolBytes: 0 });
    const rejected = await readFile(path.join(dir.path, `${DEFAULT_SPOOL_FILE_NAME}.rejected`), 'utf8');
    expect(rejected.split('\n')).toEqual(expect.arrayContaining([torn, 'garbage']));
    const warnings = records.filter((r) => r.level === 40 && String(r.msg).includes('set aside'));
    expect(warnings).toHaveLength(2);
  });

  test('start() does not hang when Redis is down, and close() then still works', async () => {
    const redisUrl = await deadRedisUrl();
    const { value: publisher, ms } = await timed(() => startPublisher({ redisUrl, connectTimeoutMs: 5000 }));
    expect(ms).toBeLessThan(1000);
    expect(publisher.stats().redisConnected).toBe(false);
    const { ms: closing } = await timed(() => publisher.close());
    expect(closing).toBeLessThan(1000);
  });
});

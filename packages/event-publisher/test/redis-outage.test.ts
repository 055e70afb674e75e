import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { jobIdForEvent, type TrackingEvent } from '@mailbeacon/contracts';
import { EventPublisher, type EventPublisherOptions } from '@mailbeacon/event-publisher';
import { capturingLogger } from '@mailbeacon/testing';
import { events, inspectQueue, OwnRedis, spoolLine, tempDir, timed, waitFor, type TempDir } from './support';

/*
 * Outages on a redis-server of the test's own (started, stopped, frozen, restarted on the same
 * port); the shared Redis on 6379 is never touched.
 */
describe('EventPublisher when Redis goes away (own redis-server)', () => {
  let redisDir: TempDir;
  let redis: OwnRedis;
  let dir: TempDir;
  let prefix: string;
  const publishers: EventPublisher[] = [];
  const queues: Array<ReturnType<typeof inspectQueue>> = [];

  beforeAll(async () => {
    redisDir = await tempDir();
    redis = await OwnRedis.start(redisDir.path);
  });
  afterAll(async () => {
    await redis?.stop();
    await redisDir?.remove();
  });
  beforeEach(async () => {
    dir = await tempDir();
    prefix = `mbtest-${randomBytes(5).toString('hex')}`;
    if (!redis.pid) await redis.start();
  });
  afterEach(async () => {
    redis.resume();
    await Promise.all(publishers.splice(0).map((p) => p.close()));
    await Promise.all(queues.splice(0).map((q) => q.close()));
    await dir.remove();
  });

  async function startPublisher(options: Partial<EventPublisherOptions> = {}) {
    const publisher = new EventPublisher({
      redisUrl: redis.url,
      prefix,
      spoolDirectory: dir.path,
      replayIntervalMs: 100,
      logger: capturingLogger().logger,
      ...options,
    });
    publishers.push(publisher);
    await publisher.start();
    return publisher;
  }

  function queue() {
    const inspected = inspectQueue(redis.url, prefix);
    queues.push(inspected);
    return inspected;
  }

  /** Publishes each event, all at once, and returns the slowest publish() time. */
  async function publishAll(publisher: EventPublisher, batch: readonly TrackingEvent[]): Promise<number> {
    const times = await Promise.all(batch.map((event) => timed(() => publisher.publish(event))));
    return Math.max(...times.map((t) => t.ms));
  }

  test('Redis stopped: publish() still answers fast, events go to the spool, and are replayed in order, once, when it is back', async () => {
    const { logger, records } = capturingLogger();
    const publisher = await startPublisher({ logger });
    await publishAll(publisher, events(20));
    expect(publisher.stats()).toMatchObject({ eventsToRedis: 20, eventsSpooled: 0 });

    await redis.stop();

    // Traffic during the outage: concurrent bursts, single events, and one event published twice.
    const outage: TrackingEvent[] = [];
    let slowest = 0;
    for (const burst of [events(50), events(1), events(1), events(100), events(1)]) {
      slowest = Math.max(slowest, await publishAll(publisher, burst));
      outage.push(...burst);
    }
    slowest = Math.max(slowest, await publishAll(publisher, [outage[3]]));
    expect(slowest).toBeLessThan(1000);

    const stats = publisher.stats();
    expect(stats.eventsSpooled).toBe(outage.length + 1);
    expect(stats.redisConnected).toBe(false);
    // On disk, in order (the duplicate too; it is dropped when replayed).
    const spooled = await readFile(publisher.spoolPath!, 'utf8');
    expect(spooled).toBe([...outage, outage[3]].map(spoolLine).join(''));
    expect(stats.spoolBytes).toBe(Buffer.byteLength(spooled));
    expect(stats.spoolEvents).toBe(outage.length + 1);
    expect(records).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/Redis is unavailable/) }));

    // Redis back, empty (no persistence): the replayer fills the queue from the spool.
    await redis.start();
    await waitFor('the spool to be replayed', () => publisher.stats().spoolBytes === 0);
    const inspected = queue();
    expect(await inspected.waitingIds()).toEqual(outage.map((event) => jobIdForEvent(event.id)));
    expect((await stat(publisher.spoolPath!)).size).toBe(0);
    expect(publisher.stats().eventsReplayed).toBe(outage.length + 1);
    expect(records).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/Redis is back/) }));

    // And new events go straight to the queue again, after the replayed ones.
    const [after] = events(1);
    await publisher.publish(after);
    expect(publisher.stats().eventsToRedis).toBe(21);
    expect((await inspected.waitingIds()).at(-1)).toBe(jobIdForEvent(after.id));
  });

  test('Redis frozen (connected, answering nothing): publish() gives up after redisTimeoutMs and spools; no duplicates once it thaws', async () => {
    const publisher = await startPublisher({ redisTimeoutMs: 250, replayTimeoutMs: 1000 });
    const before = events(5);
    await publishAll(publisher, before);

    redis.pause();
    const during = events(40);
    const slowest = await publishAll(publisher, during.slice(0, 20));
    const next = await publishAll(publisher, during.slice(20));
    expect(slowest).toBeGreaterThanOrEqual(240); // the first batch waited for the add to time out
    expect(slowest).toBeLessThan(1000);
    expect(next).toBeLessThan(1000);
    // Only the first batch tried Redis: with the spool not empty, later ones join it at once.
    expect(publisher.stats()).toMatchObject({ eventsSpooled: 40, redisFailures: 1 });

    redis.resume();
    await waitFor('the spool to be replayed', () => publisher.stats().spoolBytes === 0);
    // The timed-out add landed after all, and the replay added the same jobs again: one job each.
    expect(await queue().waitingIds()).toEqual([...before, ...during].map((event) => jobIdForEvent(event.id)));
  });

  test('close() during an outage stores the pending events in the spool; the next start() replays them', async () => {
    const first = await startPublisher({ maxDelayMs: 60_000, maxBatch: 10_000 });
    await redis.stop();
    const sent = events(25);
    const published = Promise.all(sent.map((event) => first.publish(event)));
    const { ms } = await timed(() => first.close());
    expect(ms).toBeLessThan(1000);
    await published;
    expect(first.stats().eventsSpooled).toBe(25);

    await redis.start();
    const second = await startPublisher();
    expect(second.stats()).toMatchObject({ eventsReplayed: 25, spoolBytes: 0 });
    expect(await queue().waitingIds()).toEqual(sent.map((event) => jobIdForEvent(event.id)));
  });
});

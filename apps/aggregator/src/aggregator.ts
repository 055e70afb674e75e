import { BatcherClosedError, EventBatcher, EventRetention, isTransientDatabaseError, StatsWriter } from '@mailbeacon/aggregate';
import { InvalidPayloadError, parseTrackingEvent, type TrackingEvent } from '@mailbeacon/contracts';
import { EventPartitions, openDatabase, redact } from '@mailbeacon/db';
import { connectRedis } from '@mailbeacon/redis-connection';
import { allReady, checkEvictionPolicy, describeError, probeRedis, recentCheck, RedisHealth, serveOperations, StartupError, unlessStopped, waitUntilReachable, type OperationsServer } from '@mailbeacon/service';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { AggregatorConfig } from './config';
import { AggregatorMetrics } from './metrics';

export interface AggregatorStats {
  batches: number;
  events: number;
  stored: number;
  duplicates: number;
  reclassified: number;
  retries: number;
  failed: number;
  /** Time spent writing batches (including failed attempts), in milliseconds. */
  writeMs: number;
}

export interface RunningAggregator {
  worker: Worker;
  stats: Readonly<AggregatorStats>;
  metrics: AggregatorMetrics;
  /** The operations server (/healthz, /readyz, /metrics); undefined when AGGREGATOR_METRICS_PORT is 0. */
  operations: OperationsServer | undefined;
  /** Writes the batches in hand (up to SHUTDOWN_TIMEOUT_MS), then closes every connection. */
  close(): Promise<void>;
}

/** How soon a job given back at shutdown is offered again. */
const RETURN_DELAY_MS = 1000;

/** What identifies an event in a log line: its message token and id (when the job's data has them). */
function eventContext(data: unknown): { messageToken?: string; eventId?: string } {
  const { messageToken, id } = (data ?? {}) as { messageToken?: unknown; id?: unknown };
  return {
    ...(typeof messageToken === 'string' && messageToken.length <= 64 && { messageToken }),
    ...(typeof id === 'string' && id.length <= 64 && { eventId: id }),
  };
}

/**
 * Wires the aggregator: tracking-events (Redis) → batches → PostgreSQL. Either unreachable at
 * start-up is a StartupError; `stopping` (a signal) ends a start that waits.
 */
export async function startAggregator(config: AggregatorConfig, logger: Logger, stopping?: AbortSignal): Promise<RunningAggregator> {
  const db = await openDatabase(config.DATABASE_URL, { maxConnections: config.AGGREGATOR_WRITERS + 2 }).catch((error: unknown) => {
    throw new StartupError(`cannot reach PostgreSQL at ${redact(config.DATABASE_URL)}: ${describeError(error)}`);
  });
  try {
    await probeRedis(config.REDIS_URL, { signal: stopping }, (redis) => checkEvictionPolicy(redis, logger));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const partitions = new EventPartitions(db);
  const retention = new EventRetention(partitions, { retentionDays: config.RETENTION_DAYS });
  const runRetention = async () => {
    try {
      const { dropped } = await retention.run();
      if (dropped.length > 0) logger.info({ dropped: dropped.map((p) => p.name), cutoff: retention.cutoff() }, 'dropped expired event partitions');
    } catch (error) {
      logger.warn({ err: error }, 'retention run failed; trying again at the next interval');
    }
  };
  await runRetention();
  const retentionTimer = setInterval(() => void runRetention(), config.RETENTION_INTERVAL_MS);
  retentionTimer.unref();

  const metrics = new AggregatorMetrics();
  const stats: AggregatorStats = { batches: 0, events: 0, stored: 0, duplicates: 0, reclassified: 0, retries: 0, failed: 0, writeMs: 0 };
  const writer = new StatsWriter(db, partitions, {
    earlyClickMs: config.EARLY_CLICK_MS,
    burstWindowMs: config.BURST_WINDOW_MS,
    burstMinLinks: config.BURST_MIN_LINKS,
  });
  const batcher = new EventBatcher<TrackingEvent>({
    maxSize: config.AGGREGATOR_BATCH_SIZE,
    maxWaitMs: config.AGGREGATOR_BATCH_WAIT_MS,
    maxConcurrentWrites: config.AGGREGATOR_WRITERS,
    isTransient: isTransientDatabaseError,
    async write(events) {
      const { byType, ...summary } = await writer.write(events);
      metrics.batchCommitted(byType, summary.reclassified, Date.now());
      stats.batches++;
      stats.events += summary.events;
      stats.stored += summary.stored;
      stats.duplicates += summary.duplicates;
      stats.reclassified += summary.reclassified;
      logger.debug(summary, 'batch written');
    },
    onWritten(size, durationMs) {
      stats.writeMs += durationMs;
      metrics.batchWritten(size, durationMs / 1000);
    },
    onRetry(error, attempt, delayMs, size) {
      stats.retries++;
      metrics.batchRetried();
      // Events stay in Redis (their jobs stay active, their locks renewed) until this succeeds.
      logger.warn({ err: error, attempt, delayMs, events: size }, 'PostgreSQL unavailable; batch will be retried');
    },
    onItemFailed(event, error) {
      stats.failed++;
      metrics.eventFailed(event.type, 'write');
      logger.error(
        { err: error, messageToken: event.messageToken, eventId: event.id, type: event.type, event },
        'event could not be stored; its job will be retried and then kept as failed',
      );
    },
  });

  const connection = connectRedis(config.REDIS_URL, { maxRetriesPerRequest: null });
  // Connection trouble from here on is reported there, once per outage.
  const redis = new RedisHealth(connection, { url: config.REDIS_URL, logger });
  const handle = async (job: Job, token?: string): Promise<void> => {
    let event: TrackingEvent;
    try {
      event = parseTrackingEvent(job.data);
    } catch (error) {
      if (error instanceof InvalidPayloadError) {
        metrics.eventFailed((job.data as { type?: string } | null)?.type, 'invalid');
        throw new UnrecoverableError(error.message);
      }
      throw error;
    }
    try {
      await batcher.add(event);
    } catch (error) {
      if (!(error instanceof BatcherClosedError) || !token) throw error;
      // Shutting down before the batch was written: back to the queue, without using an attempt.
      await job.moveToDelayed(Date.now() + RETURN_DELAY_MS, token);
      throw new DelayedError();
    }
  };
  const worker = new Worker(config.QUEUE_TRACKING_EVENTS, handle, {
    connection,
    prefix: config.QUEUE_PREFIX,
    // The batches being written and the one filling.
    concurrency: (config.AGGREGATOR_WRITERS + 1) * config.AGGREGATOR_BATCH_SIZE,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
  });
  worker.on('failed', (job, error) => {
    if (job && !(error instanceof DelayedError)) {
      logger.error({ jobId: job.id, ...eventContext(job.data), err: error, attemptsMade: job.attemptsMade }, 'tracking event job failed');
    }
  });
  worker.on('error', redis.errorListener('aggregator worker'));
  // Read at scrape: the backlog and how old it is.
  const queue = new Queue(config.QUEUE_TRACKING_EVENTS, { connection, prefix: config.QUEUE_PREFIX }).on('error', redis.errorListener('tracking-events queue'));
  metrics.watchQueue(queue);
  metrics.watchRedis(() => connection.status === 'ready');
  let operations: OperationsServer | undefined;
  try {
    await waitUntilReachable(connection, config.REDIS_URL, { signal: stopping });
    await unlessStopped(worker.waitUntilReady(), stopping);
    if (config.AGGREGATOR_METRICS_PORT !== 0) {
      const database = recentCheck(() => db.selectNoFrom((eb) => eb.lit(1).as('one')).execute(), { name: 'PostgreSQL' });
      operations = await serveOperations({
        port: config.AGGREGATOR_METRICS_PORT,
        host: config.METRICS_HOST,
        metrics,
        ready: () => allReady(() => (connection.status === 'ready' ? true : { ready: false, reason: `Redis: ${connection.status}` }), database),
      });
    }
  } catch (error) {
    // Redis unreachable, a signal, or the port taken: nothing to finish, so nothing waits
    // (on Redis least of all: its queues are left to settle on their own).
    clearInterval(retentionTimer);
    void Promise.allSettled([worker.close(true), queue.close()]);
    await Promise.allSettled([batcher.close(), db.destroy()]);
    await redis.close();
    throw error;
  }
  logger.info(
    {
      queue: config.QUEUE_TRACKING_EVENTS,
      prefix: config.QUEUE_PREFIX,
      batchSize: config.AGGREGATOR_BATCH_SIZE,
      batchWaitMs: config.AGGREGATOR_BATCH_WAIT_MS,
      retentionDays: config.RETENTION_DAYS,
      ...(operations && { operations: operations.url }),
    },
    'aggregator started',
  );

  let closing: Promise<void> | undefined;
  return {
    worker,
    stats,
    metrics,
    operations,
    close: () =>
      (closing ??= (async () => {
        clearInterval(retentionTimer);
        // Without Redis the jobs in hand cannot be completed: once their batches are written,
        // they stay active in the queue and are taken over (and recognised as already stored)
        // once their lock expires. So the worker's close is not waited for then.
        const workerClosed = redis.unlessUnreachable(worker.close()).then((finished) => {
          if (!finished) logger.warn({ redis: redis.where }, 'Redis is unreachable: the jobs in hand stay in the queue and are taken over once their lock expires');
        });
        // No more items are coming: write what is forming now instead of waiting out the window.
        const flushing = batcher.close();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          Promise.all([workerClosed, flushing]).then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS, true))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          logger.warn({ pending: batcher.pending }, 'PostgreSQL did not take the last batches in time; their events go back to the queue');
          batcher.abandon();
          await workerClosed;
        }
        await redis.unlessUnreachable(queue.close());
        await db.destroy();
        await redis.close();
        // Last: /healthz answers until the work in hand is done.
        await operations?.close();
        logger.info(stats, 'aggregator stopped');
      })()),
  };
}

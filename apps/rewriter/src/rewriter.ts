import { describeSigningKeys } from '@mailbeacon/contracts';
import { openDatabase, redact } from '@mailbeacon/db';
import { connectRedis } from '@mailbeacon/redis-connection';
import { allReady, checkEvictionPolicy, describeError, probeRedis, recentCheck, RedisHealth, serveOperations, StartupError, unlessStopped, waitUntilReachable, type OperationsServer } from '@mailbeacon/service';
import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RewriterConfig } from './config';
import { RewriterMetrics } from './metrics';
import { createRewritePool } from './rewrite-pool';
import { RewriteJob } from './rewrite-job';
import { startTrackingDomainCache } from './tracking-settings';

export interface RunningRewriter {
  worker: Worker;
  metrics: RewriterMetrics;
  /** The operations server (/healthz, /readyz, /metrics); undefined when REWRITER_METRICS_PORT is 0. */
  operations: OperationsServer | undefined;
  /** Finishes the jobs in hand, then closes every connection. */
  close(): Promise<void>;
}

/**
 * Wires the rewrite worker: Postgres (settings), Redis (queues), the thread pool. Either
 * unreachable at start-up is a StartupError; `stopping` (a signal) ends a start that waits.
 */
export async function startRewriter(config: RewriterConfig, logger: Logger, stopping?: AbortSignal): Promise<RunningRewriter> {
  const { keys } = config.signing;
  const signingKey = describeSigningKeys(config.signing);
  logger[signingKey.level](signingKey.fields, signingKey.message);

  const db = await openDatabase(config.DATABASE_URL).catch((error: unknown) => {
    throw new StartupError(`cannot reach PostgreSQL at ${redact(config.DATABASE_URL)}: ${describeError(error)}`);
  });
  const cache = await startTrackingDomainCache(db, config, logger).catch(async (error: unknown) => {
    await db.destroy();
    throw error;
  });
  try {
    await probeRedis(config.REDIS_URL, { signal: stopping }, (redis) => checkEvictionPolicy(redis, logger));
  } catch (error) {
    await Promise.allSettled([cache.stop(), db.destroy()]);
    throw error;
  }

  const connection = connectRedis(config.REDIS_URL, { maxRetriesPerRequest: null });
  // Connection trouble from here on is reported there, once per outage.
  const redis = new RedisHealth(connection, { url: config.REDIS_URL, logger });
  const queueOptions = { connection, prefix: config.QUEUE_PREFIX };
  const ready = new Queue(config.QUEUE_OUTBOUND_READY, queueOptions).on('error', redis.errorListener('outbound-ready queue'));
  const events = new Queue(config.QUEUE_TRACKING_EVENTS, queueOptions).on('error', redis.errorListener('tracking-events queue'));
  const pool = createRewritePool(config.REWRITER_THREADS, config.signing.secrets);
  const job = new RewriteJob({
    keys,
    trackingDomainFor: (server, senderDomain, explicit) => cache.trackingDomainFor(server, senderDomain, explicit),
    pool,
    ready,
    events,
    signsAfterTracking: config.SIGNS_AFTER_TRACKING,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    logger,
  });

  const metrics = new RewriterMetrics();
  const processJob = async (j: Job) => {
    const started = performance.now();
    try {
      const outcome = await job.process(j);
      metrics.jobDone('completed', (performance.now() - started) / 1000);
      metrics.messageHandedBack(outcome.skipped);
      return outcome;
    } catch (error) {
      metrics.jobDone('failed', (performance.now() - started) / 1000);
      throw error;
    }
  };
  const worker = new Worker(config.QUEUE_OUTBOUND_MESSAGES, processJob, {
    ...queueOptions,
    concurrency: config.REWRITER_CONCURRENCY,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
  });
  worker.on('failed', (j, error) => {
    const log = j ? job.loggerFor(j) : logger;
    log.error({ err: error, attemptsMade: j?.attemptsMade, attempts: j?.opts.attempts }, 'rewrite job failed');
  });
  worker.on('error', redis.errorListener('rewrite worker'));
  // Counted at scrape: what waits to be rewritten.
  const outbound = new Queue(config.QUEUE_OUTBOUND_MESSAGES, queueOptions).on('error', redis.errorListener('outbound-messages queue'));
  metrics.watchQueue(outbound);
  metrics.watchRedis(() => connection.status === 'ready');

  let operations: OperationsServer | undefined;
  try {
    await waitUntilReachable(connection, config.REDIS_URL, { signal: stopping });
    await unlessStopped(worker.waitUntilReady(), stopping);
    if (config.REWRITER_METRICS_PORT !== 0) {
      const database = recentCheck(() => db.selectNoFrom((eb) => eb.lit(1).as('one')).execute(), { name: 'PostgreSQL' });
      operations = await serveOperations({
        port: config.REWRITER_METRICS_PORT,
        host: config.METRICS_HOST,
        metrics,
        ready: () => allReady(() => (connection.status === 'ready' ? true : { ready: false, reason: `Redis: ${connection.status}` }), database),
      });
    }
  } catch (error) {
    // Redis unreachable, a signal, or the port taken: nothing to finish, so nothing waits
    // (on Redis least of all: its queues are left to settle on their own).
    void Promise.allSettled([worker.close(true), ready.close(), events.close(), outbound.close()]);
    await Promise.allSettled([cache.stop(), pool.close(), db.destroy()]);
    await redis.close();
    throw error;
  }
  logger.info(
    {
      queue: config.QUEUE_OUTBOUND_MESSAGES,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.REWRITER_CONCURRENCY,
      threads: config.REWRITER_THREADS,
      ...(operations && { operations: operations.url }),
    },
    'rewriter started',
  );

  let closing: Promise<void> | undefined;
  return {
    worker,
    metrics,
    operations,
    close: () =>
      (closing ??= (async () => {
        // Without Redis the jobs in hand cannot be completed: they stay active in the queue,
        // and a worker takes them over once their lock expires. No reason to wait for it.
        if (!(await redis.unlessUnreachable(worker.close()))) {
          logger.warn({ redis: redis.where }, 'Redis is unreachable: the jobs in hand stay in the queue and are taken over once their lock expires');
        }
        await Promise.all([cache.stop(), pool.close(), db.destroy(), redis.unlessUnreachable(Promise.all([ready.close(), events.close(), outbound.close()]))]);
        await redis.close();
        // Last: /healthz answers until the work in hand is done.
        await operations?.close();
        logger.info('rewriter stopped');
      })()),
  };
}

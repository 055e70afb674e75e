import { describeSigningKeys } from '@mailbeacon/contracts';
import { openDatabase, redact } from '@mailbeacon/db';
import { connectRedis } from '@mailbeacon/redis-connection';
import { allReady, checkEvictionPolicy, describeError, recentCheck, serveOperations, StartupError, type OperationsServer } from '@mailbeacon/service';
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

/** Wires the rewrite worker: Postgres (settings), Redis (queues), the thread pool. */
export async function startRewriter(config: RewriterConfig, logger: Logger): Promise<RunningRewriter> {
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

  const connection = connectRedis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const queueOptions = { connection, prefix: config.QUEUE_PREFIX };
  const ready = new Queue(config.QUEUE_OUTBOUND_READY, queueOptions);
  const events = new Queue(config.QUEUE_TRACKING_EVENTS, queueOptions);
  const pool = createRewritePool(config.REWRITER_THREADS, config.signing.secrets);
  const job = new RewriteJob({
    keys,
    domainsOf: (server) => cache.domainsOf(server),
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
  worker.on('error', (error) => logger.error({ err: error }, 'rewrite worker error'));
  // Counted at scrape: what waits to be rewritten.
  const outbound = new Queue(config.QUEUE_OUTBOUND_MESSAGES, queueOptions);
  metrics.watchQueue(outbound);
  metrics.watchRedis(() => connection.status === 'ready');

  let operations: OperationsServer | undefined;
  try {
    await worker.waitUntilReady();
    await checkEvictionPolicy(connection, logger);
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
    // Redis unreachable, or the port taken: nothing to finish, so nothing waits.
    await Promise.allSettled([cache.stop(), worker.close(true), pool.close(), ready.close(), events.close(), outbound.close(), db.destroy()]);
    connection.disconnect();
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
        await worker.close();
        await Promise.all([cache.stop(), pool.close(), ready.close(), events.close(), outbound.close(), db.destroy()]);
        await connection.quit();
        // Last: /healthz answers until the work in hand is done.
        await operations?.close();
        logger.info('rewriter stopped');
      })()),
  };
}

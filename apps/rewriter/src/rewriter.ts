import { DEVELOPMENT_KEY_WARNING, signingKeysFromEnv } from '@mailbeacon/contracts';
import { openDatabase, redact, TrackingDomainRepository } from '@mailbeacon/db';
import { TrackingDomainCache } from '@mailbeacon/domains';
import { describeError, StartupError } from '@mailbeacon/service';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RewriterConfig } from './config';
import { createRewritePool } from './rewrite-pool';
import { RewriteJob } from './rewrite-job';

export interface RunningRewriter {
  worker: Worker;
  /** Finishes the jobs in hand, then closes every connection. */
  close(): Promise<void>;
}


/** Wires the rewrite worker: Postgres (settings), Redis (queues), the thread pool. */
export async function startRewriter(config: RewriterConfig, logger: Logger): Promise<RunningRewriter> {
  const { keys, development } = signingKeysFromEnv(config.signing);
  if (development) logger.warn(DEVELOPMENT_KEY_WARNING);

  const db = await openDatabase(config.DATABASE_URL).catch((error: unknown) => {
    throw new StartupError(`cannot reach PostgreSQL at ${redact(config.DATABASE_URL)}: ${describeError(error)}`);
  });
  const cache = new TrackingDomainCache(new TrackingDomainRepository(db), {
    refreshMs: config.DOMAIN_REFRESH_MS,
    onRefreshError: (error) => logger.warn({ err: error }, 'could not reload tracking domains; using the last good copy'),
  });
  await cache.start();

  const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const queueOptions = { connection, prefix: config.QUEUE_PREFIX };
  const ready = new Queue(config.QUEUE_OUTBOUND_READY, queueOptions);
  const events = new Queue(config.QUEUE_TRACKING_EVENTS, queueOptions);
  const pool = createRewritePool(config.REWRITER_THREADS, config.signing);
  const job = new RewriteJob({
    keys,
    domainsFor: (server) => cache.forServer(server),
    pool,
    ready,
    events,
    signsAfterTracking: config.SIGNS_AFTER_TRACKING,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    logger,
  });

  const worker = new Worker(config.QUEUE_OUTBOUND_MESSAGES, (j) => job.process(j), {
    ...queueOptions,
    concurrency: config.REWRITER_CONCURRENCY,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
  });
  worker.on('failed', (j, error) => logger.error({ jobId: j?.id, err: error }, 'rewrite job failed'));
  worker.on('error', (error) => logger.error({ err: error }, 'rewrite worker error'));
  await worker.waitUntilReady();
  logger.info({ queue: config.QUEUE_OUTBOUND_MESSAGES, prefix: config.QUEUE_PREFIX, concurrency: config.REWRITER_CONCURRENCY, threads: config.REWRITER_THREADS }, 'rewriter started');

  return {
    worker,
    async close() {
      await worker.close();
      cache.stop();
      await Promise.all([pool.close(), ready.close(), events.close(), db.destroy()]);
      await connection.quit();
      logger.info('rewriter stopped');
    },
  };
}

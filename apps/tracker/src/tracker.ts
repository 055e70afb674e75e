import { EventPublisher } from '@mailbeacon/event-publisher';
import { checkEvictionPolicy, serveHttp, StartupError, StopRequested, describeError, probeRedis, RedisUnreachableError, REQUIRED_EVICTION_POLICY, type RunningService } from '@mailbeacon/service';
import { describeSigningKeys } from '@mailbeacon/contracts';
import type { Logger } from 'pino';
import type { TrackerConfig } from './config';
import { TrackerMetrics, METRIC_PREFIX } from './metrics';
import { createTrackerApp } from './tracker-app';

/**
 * The largest request head (request line and headers) the tracker reads, in bytes: 64 KiB,
 * what the shipped nginx config lets through (large_client_header_buffers 4 16k), so nothing
 * nginx passes on is refused here with 431. Node's default (16 KiB) is less than the longest
 * tracking URL (MAX_TRACKING_URL_LENGTH, 8000) plus a browser's headers and a long Referer or
 * cookie.
 */
export const TRACKER_MAX_HEADER_BYTES = 64 * 1024;
/** Node's server options for the tracker; tests serving the tracker app use them too. */
export const TRACKER_SERVER_OPTIONS = Object.freeze({ maxHeaderSize: TRACKER_MAX_HEADER_BYTES });

export interface RunningTracker extends RunningService {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  publisher: EventPublisher;
}

export interface StartTrackerOptions {
  /** How long requests in flight may take to finish once close() is called (default 10 s). */
  shutdownGraceMs?: number;
}

/**
 * The shared Redis start-up check (which also looks at maxmemory-policy), in the background:
 * the tracker must start (and spool events) without Redis, so an unreachable Redis is one
 * warning, not a failure. cancel() gives up quietly (the tracker is stopping).
 */
function checkRedisAtStart(redisUrl: string, logger: Logger): { done: Promise<void>; cancel(): void } {
  const stopping = new AbortController();
  const done = probeRedis(redisUrl, { signal: stopping.signal, timeoutMs: 5000 }, (redis) => checkEvictionPolicy(redis, logger)).then(
    () => undefined,
    (error: unknown) => {
      if (stopping.signal.aborted) return;
      const message = error instanceof RedisUnreachableError ? error.message : `could not check Redis: ${describeError(error)}`;
      logger.warn(`${message}. Meanwhile tracking events are kept in the spool (Redis's maxmemory-policy, which must be ${REQUIRED_EVICTION_POLICY}, is checked at the next start)`);
    },
  );
  return { done, cancel: () => stopping.abort(new StopRequested('tracker stopping')) };
}

/**
 * Wires the tracker: the event publisher (Redis with group commit, the spool when Redis is
 * away, a spool left by a previous run replayed), the app, the HTTP server.
 */
export async function startTracker(config: TrackerConfig, logger: Logger, options: StartTrackerOptions = {}): Promise<RunningTracker> {
  const signingKey = describeSigningKeys(config.signing);
  logger[signingKey.level](signingKey.fields, signingKey.message);
  const metrics = new TrackerMetrics();
  const batchSizes = metrics.registerHistogram({ name: `${METRIC_PREFIX}event_batch_size`, help: 'Events per group commit', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500] });
  const publisher = new EventPublisher({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    queueName: config.trackingEventsQueue,
    spoolDirectory: config.spoolDir,
    // Group commit without a timer: what arrived in one turn of the event loop goes in one
    // add, and what arrives while it is in flight goes in the next.
    maxDelayMs: 0,
    logger,
    onBatch: (report) => batchSizes.observe(report.size),
  });
  try {
    await publisher.start();
  } catch (error) {
    throw new StartupError(`cannot open the event spool in ${config.spoolDir}: ${describeError(error)}`);
  }
  metrics.registerGauge({ name: `${METRIC_PREFIX}spool_bytes`, help: 'Size of the local event spool (events waiting for Redis), in bytes', collect: () => publisher.stats().spoolBytes });
  metrics.registerGauge({ name: `${METRIC_PREFIX}spool_events`, help: 'Events waiting in the local spool for Redis', collect: () => publisher.stats().spoolEvents });
  metrics.registerGauge({ name: `${METRIC_PREFIX}redis_connected`, help: '1 while the event queue is reachable', collect: () => (publisher.stats().redisConnected ? 1 : 0) });

  const app = createTrackerApp({
    keys: config.signing.keys,
    sink: publisher,
    hostHeader: config.trackHostHeader,
    trustProxy: config.trustProxy,
    ipStorage: config.ipStorage,
    metrics,
    logger,
    // The publisher bounds the wait itself (Redis slower than 250 ms: the spool), so no
    // second timer per request.
    publishTimeoutMs: Infinity,
  });
  let http;
  try {
    http = await serveHttp(app, config.port, config.host, options.shutdownGraceMs ?? 10_000, TRACKER_SERVER_OPTIONS);
  } catch (error) {
    await publisher.close();
    throw error;
  }
  const { url } = http;
  logger.info({ url, spool: config.spoolDir }, 'tracker listening');
  const redisCheck = checkRedisAtStart(config.redisUrl, logger);

  let closing: Promise<void> | undefined;
  return {
    url,
    publisher,
    close: () =>
      (closing ??= (async () => {
        // First stop taking requests (those in flight are answered, their events published),
        // then flush what is pending to Redis or the spool.
        redisCheck.cancel();
        await http.close();
        await publisher.close();
        await redisCheck.done;
        logger.info('tracker stopped');
      })()),
  };
}

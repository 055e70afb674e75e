import { queueDepthGauge, redisConnectedGauge, withTimeout, type CountingQueue } from '@mailbeacon/service';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * The aggregator's Prometheus metrics, in a registry of its own (as the tracker's), served by
 * its operations server. Labels take a handful of fixed values (event types, job states, the
 * queue's configured name): a token or an event id never becomes a label.
 */

export const METRIC_PREFIX = 'mailbeacon_aggregator_';

export const METRIC_NAMES = {
  batches: `${METRIC_PREFIX}batches_total`,
  batchSize: `${METRIC_PREFIX}batch_size`,
  batchDuration: `${METRIC_PREFIX}batch_write_duration_seconds`,
  stored: `${METRIC_PREFIX}events_stored_total`,
  duplicates: `${METRIC_PREFIX}events_duplicate_total`,
  reclassified: `${METRIC_PREFIX}clicks_reclassified_total`,
  failed: `${METRIC_PREFIX}events_failed_total`,
  retries: `${METRIC_PREFIX}batch_retries_total`,
  lag: `${METRIC_PREFIX}event_lag_seconds`,
  queueJobs: `${METRIC_PREFIX}queue_jobs`,
  oldestWaiting: `${METRIC_PREFIX}oldest_waiting_job_age_seconds`,
  redisConnected: `${METRIC_PREFIX}redis_connected`,
} as const;

export const EVENT_TYPES = ['message', 'open', 'click'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** `invalid`: the job's data is not a tracking event (failed for good); `write`: PostgreSQL refused the event itself. */
export type FailureReason = 'invalid' | 'write';
export { QUEUE_STATES } from '@mailbeacon/service';

export const BATCH_SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
export const BATCH_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** From well under a second (normal) to a day (a tracker spool replayed after an outage). */
export const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400];

export interface AggregatorMetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag, GC…). Default true. */
  defaultMetrics?: boolean;
  /** How long a scrape waits for Redis (default 2 s); without an answer the queue series are left out. */
  queueTimeoutMs?: number;
}

/** Where the queue figures come from (a BullMQ Queue). */
export interface WatchedQueue extends CountingQueue {
  /** The oldest waiting job first. */
  getWaiting(start?: number, end?: number): Promise<Array<{ timestamp: number } | undefined>>;
}

export class AggregatorMetrics {
  readonly registry = new Registry();
  private readonly batches: Counter;
  private readonly batchSize: Histogram;
  private readonly batchDuration: Histogram;
  private readonly stored: Counter<'type'>;
  private readonly duplicates: Counter<'type'>;
  private readonly reclassified: Counter;
  private readonly failed: Counter<'type' | 'reason'>;
  private readonly retries: Counter;
  private readonly lag: Histogram<'type'>;
  private queue: WatchedQueue | undefined;
  private redisConnected: () => boolean = () => false;

  constructor(options: AggregatorMetricsOptions = {}) {
    const registers = [this.registry];
    const timeoutMs = options.queueTimeoutMs ?? 2000;
    this.batches = new Counter({ name: METRIC_NAMES.batches, help: 'Batches committed to PostgreSQL (a batch split to isolate a bad event counts per part)', registers });
    this.batchSize = new Histogram({ name: METRIC_NAMES.batchSize, help: 'Events per committed batch', buckets: BATCH_SIZE_BUCKETS, registers });
    this.batchDuration = new Histogram({
      name: METRIC_NAMES.batchDuration,
      help: 'Time to write and commit one batch (the successful attempt)',
      buckets: BATCH_DURATION_BUCKETS,
      registers,
    });
    this.stored = new Counter({ name: METRIC_NAMES.stored, help: 'Events stored and counted for the first time, by type', labelNames: ['type'], registers });
    this.duplicates = new Counter({
      name: METRIC_NAMES.duplicates,
      help: 'Events already stored by an earlier batch (redeliveries, spool replays), by type: counted once, so ignored',
      labelNames: ['type'],
      registers,
    });
    this.reclassified = new Counter({ name: METRIC_NAMES.reclassified, help: 'Stored clicks turned from human to machine by later evidence', registers });
    this.failed = new Counter({
      name: METRIC_NAMES.failed,
      help: 'Event jobs that failed: not a tracking event (reason invalid, type unknown), or refused by PostgreSQL on its own (reason write; retried by BullMQ, then kept as failed)',
      labelNames: ['type', 'reason'],
      registers,
    });
    this.retries = new Counter({ name: METRIC_NAMES.retries, help: 'Batch writes retried because PostgreSQL was unavailable', registers });
    this.lag = new Histogram({
      name: METRIC_NAMES.lag,
      help: "Time from an event (its `at`: the click, the open, the message's rewrite) to the commit that stored it, by type",
      labelNames: ['type'],
      buckets: LAG_BUCKETS,
      registers,
    });
    const watched = () => this.queue;
    queueDepthGauge(this.registry, {
      name: METRIC_NAMES.queueJobs,
      help: 'Jobs in the tracking-events queue, by queue and state (read at scrape; left out when Redis does not answer)',
      queues: () => (this.queue ? [this.queue] : []),
      timeoutMs,
    });
    new Gauge({
      name: METRIC_NAMES.oldestWaiting,
      help: 'Age of the oldest job waiting to be taken (0 when none waits): how far behind the aggregator is',
      labelNames: ['queue'],
      registers,
      async collect(this: Gauge<'queue'>) {
        const queue = watched();
        if (!queue) return;
        try {
          const [oldest] = await withTimeout(queue.getWaiting(0, 0), timeoutMs, `${queue.name} oldest waiting job`);
          this.set({ queue: queue.name }, oldest ? Math.max(0, Date.now() - oldest.timestamp) / 1000 : 0);
        } catch {
          this.remove({ queue: queue.name });
        }
      },
    });
    redisConnectedGauge(this.registry, METRIC_NAMES.redisConnected, () => this.redisConnected());
    // Zero from the start, so rate() and alerts work before the first event.
    this.batches.inc(0);
    this.retries.inc(0);
    this.reclassified.inc(0);
    for (const type of EVENT_TYPES) {
      this.stored.inc({ type }, 0);
      this.duplicates.inc({ type }, 0);
      this.failed.inc({ type, reason: 'write' }, 0);
      this.failed.inc({ type, reason: 'invalid' }, 0);
    }
    this.failed.inc({ type: 'unknown', reason: 'invalid' }, 0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Reports the queue's depth and the age of its oldest waiting job at every scrape. */
  watchQueue(queue: WatchedQueue): void {
    this.queue = queue;
  }

  watchRedis(connected: () => boolean): void {
    this.redisConnected = connected;
  }

  /** One committed batch: its counts per type, and each stored event's lag at `committedAt` (epoch ms). */
  batchCommitted(
    byType: Record<EventType, { stored: number; duplicates: number; storedAt: readonly number[] }>,
    reclassified: number,
    committedAt: number,
  ): void {
    for (const type of EVENT_TYPES) {
      const counts = byType[type];
      this.stored.inc({ type }, counts.stored);
      this.duplicates.inc({ type }, counts.duplicates);
      for (const at of counts.storedAt) this.lag.observe({ type }, Math.max(0, committedAt - at) / 1000);
    }
    this.reclassified.inc(reclassified);
  }

  batchWritten(size: number, seconds: number): void {
    this.batches.inc();
    this.batchSize.observe(size);
    this.batchDuration.observe(seconds);
  }

  batchRetried(): void {
    this.retries.inc();
  }

  eventFailed(type: string | undefined, reason: FailureReason): void {
    const known = (EVENT_TYPES as readonly string[]).includes(type ?? '') ? (type as EventType) : 'unknown';
    this.failed.inc({ type: known, reason });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

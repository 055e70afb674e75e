import { queueDepthGauge, redisConnectedGauge, type CountingQueue } from '@mailbeacon/service';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/*
 * The rewriter's Prometheus metrics, in a registry of its own (as the tracker's), served by
 * its operations server. Every label takes a handful of fixed values: a message id, a token
 * or a server never becomes a label.
 */

export const METRIC_PREFIX = 'mailbeacon_rewriter_';

export const METRIC_NAMES = {
  jobs: `${METRIC_PREFIX}jobs_total`,
  messages: `${METRIC_PREFIX}messages_total`,
  jobDuration: `${METRIC_PREFIX}job_duration_seconds`,
  queueJobs: `${METRIC_PREFIX}queue_jobs`,
  redisConnected: `${METRIC_PREFIX}redis_connected`,
} as const;

/** A processing attempt: `failed` includes invalid jobs (failed for good) and errors that are retried. */
export type JobOutcome = 'completed' | 'failed';

/**
 * The codes of `skipped` (`code: explanation`), from rewriteMessage and the tracking-domain
 * choice; anything else is counted as `other`.
 */
export const SKIP_REASONS = ['x-amp-skip', 'dkim-signed', 'signed', 'too-large', 'unparseable', 'internal-error', 'no-tracking-domain', 'unknown-server', 'other'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** The code of a `skipped` text: its first word, if it is one of SKIP_REASONS. */
export function skipReason(skipped: string): SkipReason {
  const code = /^([a-z0-9-]+)/.exec(skipped.trim().toLowerCase())?.[1];
  return (SKIP_REASONS as readonly string[]).includes(code ?? '') ? (code as SkipReason) : 'other';
}

export { QUEUE_STATES, type CountingQueue } from '@mailbeacon/service';

/** Rewrites take from a millisecond (small message) to seconds (tens of MB). */
export const JOB_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface RewriterMetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag, GC…). Default true. */
  defaultMetrics?: boolean;
  /** How long a scrape waits for the queue counts (default 2 s); without an answer the series are left out. */
  queueTimeoutMs?: number;
}

export class RewriterMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'outcome'>;
  private readonly messages: Counter<'outcome' | 'reason'>;
  private readonly duration: Histogram<'outcome'>;
  private readonly queues: CountingQueue[] = [];
  private redisConnected: () => boolean = () => false;

  constructor(options: RewriterMetricsOptions = {}) {
    const registers = [this.registry];
    const queueTimeoutMs = options.queueTimeoutMs ?? 2000;
    this.jobs = new Counter({ name: METRIC_NAMES.jobs, help: 'Rewrite job attempts, by outcome (completed, failed)', labelNames: ['outcome'], registers });
    this.messages = new Counter({
      name: METRIC_NAMES.messages,
      help: 'Messages handed back on outbound-ready: tracked (reason none), or skipped (untouched) with the reason code',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.duration = new Histogram({
      name: METRIC_NAMES.jobDuration,
      help: 'Time to process one rewrite job (validate, rewrite, hand back), by outcome',
      labelNames: ['outcome'],
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    queueDepthGauge(this.registry, {
      name: METRIC_NAMES.queueJobs,
      help: 'Jobs in the queues the rewriter takes from, by queue and state (read at scrape; left out when Redis does not answer)',
      queues: () => this.queues,
      timeoutMs: queueTimeoutMs,
    });
    redisConnectedGauge(this.registry, METRIC_NAMES.redisConnected, () => this.redisConnected());
    for (const outcome of ['completed', 'failed'] as const) this.jobs.inc({ outcome }, 0);
    this.messages.inc({ outcome: 'tracked', reason: 'none' }, 0);
    for (const reason of SKIP_REASONS) this.messages.inc({ outcome: 'skipped', reason }, 0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Reports the depth of `queue` at every scrape. */
  watchQueue(queue: CountingQueue): void {
    this.queues.push(queue);
  }

  watchRedis(connected: () => boolean): void {
    this.redisConnected = connected;
  }

  jobDone(outcome: JobOutcome, seconds: number): void {
    this.jobs.inc({ outcome });
    this.duration.observe({ outcome }, seconds);
  }

  messageHandedBack(skipped: string | undefined): void {
    if (skipped === undefined) this.messages.inc({ outcome: 'tracked', reason: 'none' });
    else this.messages.inc({ outcome: 'skipped', reason: skipReason(skipped) });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

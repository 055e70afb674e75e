import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * The tracker's Prometheus metrics, in a registry of its own (never prom-client's global
 * one), so a process can hold several apps (tests do) and the wiring can add its gauges.
 * Every label takes a handful of fixed values: a path or a server token never becomes a label.
 */

export const METRIC_PREFIX = 'mailbeacon_tracker_';

export const METRIC_NAMES = {
  requests: `${METRIC_PREFIX}requests_total`,
  requestDuration: `${METRIC_PREFIX}request_duration_seconds`,
  eventsPublished: `${METRIC_PREFIX}events_published_total`,
  eventFailures: `${METRIC_PREFIX}event_failures_total`,
  publishTimeouts: `${METRIC_PREFIX}publish_timeouts_total`,
} as const;

/**
 * What a request turned out to be. `invalid`: a request for a tracking host whose URL is
 * not a valid tracking URL (unsigned, tampered, malformed, unknown key, wrong method);
 * `not_found`: anything else nobody serves; `error`: answered 500.
 */
export const TRACKER_ROUTES = ['hello', 'click', 'open', 'invalid', 'healthz', 'readyz', 'metrics', 'not_found', 'error'] as const;
export type TrackerRoute = (typeof TRACKER_ROUTES)[number];

export type HitType = 'click' | 'open';
/** `invalid`: the event did not pass the contracts' schema (a bug); `publish`: the sink rejected it. */
export type EventFailureReason = 'invalid' | 'publish';

/** Latency of the answer, publishing included: mostly well under 10 ms. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface TrackerMetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag, GC…) under their standard names. Default true. */
  defaultMetrics?: boolean;
}

export interface GaugeDefinition {
  /** Used as given; by convention it starts with METRIC_PREFIX, e.g. `mailbeacon_tracker_spool_events`. */
  name: string;
  help: string;
  /** Called at every scrape; its value is what the gauge reports. Without it, set the returned gauge yourself. */
  collect?: () => number | Promise<number>;
}

export class TrackerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status'>;
  private readonly duration: Histogram<'route'>;
  private readonly published: Counter<'type'>;
  private readonly failures: Counter<'type' | 'reason'>;
  private readonly timeouts: Counter<'type'>;

  constructor(options: TrackerMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: METRIC_NAMES.requests, help: 'Requests answered, by route and HTTP status', labelNames: ['route', 'status'], registers });
    this.duration = new Histogram({
      name: METRIC_NAMES.requestDuration,
      help: 'Time from the request to the end of the answer (publishing the event included), by route',
      labelNames: ['route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.published = new Counter({ name: METRIC_NAMES.eventsPublished, help: 'Click and open events the sink accepted, by type', labelNames: ['type'], registers });
    this.failures = new Counter({
      name: METRIC_NAMES.eventFailures,
      help: 'Events lost to the sink: it rejected them (reason publish) or they failed validation (reason invalid); each one is logged in full',
      labelNames: ['type', 'reason'],
      registers,
    });
    this.timeouts = new Counter({
      name: METRIC_NAMES.publishTimeouts,
      help: 'Answers sent before the sink confirmed the event (the publish goes on and is counted when it settles)',
      labelNames: ['type'],
      registers,
    });
    for (const type of ['click', 'open'] as const) {
      // Zero from the start, so rate() and alerts work before the first failure.
      this.published.inc({ type }, 0);
      this.timeouts.inc({ type }, 0);
      this.failures.inc({ type, reason: 'publish' }, 0);
      this.failures.inc({ type, reason: 'invalid' }, 0);
    }
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(route: TrackerRoute, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.duration.observe({ route }, seconds);
  }

  eventPublished(type: HitType): void {
    this.published.inc({ type });
  }

  eventFailed(type: HitType, reason: EventFailureReason): void {
    this.failures.inc({ type, reason });
  }

  publishTimedOut(type: HitType): void {
    this.timeouts.inc({ type });
  }

  /** For the wiring's own gauges (spool size, Redis connected…), served on /metrics with the rest. */
  registerGauge(definition: GaugeDefinition): Gauge {
    const { collect } = definition;
    return new Gauge({
      name: definition.name,
      help: definition.help,
      registers: [this.registry],
      ...(collect && {
        async collect(this: Gauge) {
          this.set(await collect());
        },
      }),
    });
  }

  /** For the wiring's own distributions (e.g. events per group commit). */
  registerHistogram(definition: { name: string; help: string; buckets: number[] }): Histogram {
    return new Histogram({ ...definition, registers: [this.registry] });
  }

  /** The Content-Type of render(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

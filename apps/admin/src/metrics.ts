import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/*
 * The admin API's Prometheus metrics, in a registry of its own (as the tracker's), served on
 * GET /metrics behind the admin token. `route` is the route's pattern (`/domains/:host`),
 * never the path itself: a host or a server token never becomes a label.
 */

export const METRIC_PREFIX = 'mailbeacon_admin_';

export const METRIC_NAMES = {
  requests: `${METRIC_PREFIX}requests_total`,
  requestDuration: `${METRIC_PREFIX}request_duration_seconds`,
} as const;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Most answers take a few milliseconds; a domain check waits for DNS and HTTP (seconds). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface AdminMetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag, GC…). Default true. */
  defaultMetrics?: boolean;
}

export class AdminMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;

  constructor(options: AdminMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: METRIC_NAMES.requests,
      help: 'Requests answered, by method, route pattern (unauthorized: refused before routing, 401 or 403; not_found: no route) and HTTP status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: METRIC_NAMES.requestDuration,
      help: 'Time from the request to the end of the answer, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Express middleware counting every answer (mount it first). */
  observe(): RequestHandler {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const pattern = (req.route as { path?: unknown } | undefined)?.path;
        const route = typeof pattern === 'string' ? pattern : res.statusCode === 401 || res.statusCode === 403 ? 'unauthorized' : 'not_found';
        const method = METHODS.has(req.method) ? req.method : 'other';
        this.requests.inc({ method, route, status: String(res.statusCode) });
        this.duration.observe({ method, route }, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

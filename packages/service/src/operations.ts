import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveHttp } from './http-server';
import { withTimeout } from './with-timeout';
import { describeError, describeErrorOf } from './run-service';

/*
 * The operations endpoints every process offers (the workers on a small server of their own):
 * GET /healthz  200 `ok` while the process runs;
 * GET /readyz   200 `ready`, or 503 `not ready: <reason>`;
 * GET /metrics  the Prometheus text format.
 */

/** What the ready() function says: true, or why not (a short reason, never a secret). */
export type Readiness = boolean | { ready: boolean; reason?: string };

/** What serveOperations needs of a prom-client Registry (or of an app's metrics class that wraps one). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface OperationsServerOptions {
  port: number;
  host: string;
  metrics: MetricsSource;
  ready(): Readiness | Promise<Readiness>;
  /** How long requests in flight may take once close() is called (default 2 s). */
  graceMs?: number;
  /** A readiness answer slower than this is `not ready` (default 5 s). */
  readyTimeoutMs?: number;
}

export interface OperationsServer {
  /** e.g. http://127.0.0.1:8082 */
  url: string;
  close(): Promise<void>;
}

/** Readiness as { ready, reason }: a reason is always given when not ready. */
function normalizeReadiness(value: Readiness): { ready: boolean; reason?: string } {
  if (typeof value === 'boolean') return value ? { ready: true } : { ready: false, reason: 'not ready' };
  return value.ready ? { ready: true } : { ready: false, reason: value.reason || 'not ready' };
}

/** All must be ready; the reasons of those that are not are joined. */
export async function allReady(...checks: Array<() => Readiness | Promise<Readiness>>): Promise<{ ready: boolean; reason?: string }> {
  const results = await Promise.all(
    checks.map(async (check) => {
      try {
        return normalizeReadiness(await check());
      } catch (error) {
        return { ready: false, reason: describeError(error) };
      }
    }),
  );
  const reasons = results.filter((result) => !result.ready).map((result) => result.reason);
  return reasons.length === 0 ? { ready: true } : { ready: false, reason: reasons.join('; ') };
}

export interface RecentCheckOptions {
  /** What is checked, for the reason: e.g. `PostgreSQL`. */
  name: string;
  /** A success this recent counts without asking again (default 3 s). */
  freshMs?: number;
  /** A check slower than this fails (default 2 s). */
  timeoutMs?: number;
}

/**
 * A readiness check for a dependency (e.g. `select 1`): ready when `probe` succeeded within
 * the last `freshMs`, else it is run now (one at a time, however many ask). Not ready gives
 * `<name>: <error>`.
 */
export function recentCheck(probe: () => Promise<unknown>, options: RecentCheckOptions): () => Promise<{ ready: boolean; reason?: string }> {
  const freshMs = options.freshMs ?? 3000;
  const timeoutMs = options.timeoutMs ?? 2000;
  let lastSuccess = -Infinity;
  let running: Promise<{ ready: boolean; reason?: string }> | undefined;
  return () => {
    if (performance.now() - lastSuccess <= freshMs) return Promise.resolve({ ready: true });
    running ??= withTimeout(Promise.resolve().then(probe), timeoutMs, options.name)
      .then(
        () => {
          lastSuccess = performance.now();
          return { ready: true };
        },
        (error: unknown) => ({ ready: false, reason: describeErrorOf(options.name, error) }),
      )
      .finally(() => (running = undefined));
    return running;
  };
}

function answer(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Asks `ready` (at most `timeoutMs`: a hung check is not ready), for a /readyz answer; a check
 * that throws is not ready, with its error as the reason.
 */
export function checkReadiness(ready: () => Readiness | Promise<Readiness>, timeoutMs: number): Promise<{ ready: boolean; reason?: string }> {
  return withTimeout(Promise.resolve().then(ready), timeoutMs, 'readiness check').then(normalizeReadiness, (error: unknown) => ({
    ready: false,
    reason: describeError(error),
  }));
}

function operationsHandler(options: OperationsServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return answer(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return answer(res, 405, 'method not allowed\n');
    }
    if (path === '/healthz') return answer(res, 200, 'ok\n');
    if (path === '/readyz') {
      void checkReadiness(() => options.ready(), readyTimeoutMs).then((readiness) =>
        answer(res, readiness.ready ? 200 : 503, readiness.ready ? 'ready\n' : `not ready: ${readiness.reason}\n`),
      );
      return;
    }
    void options.metrics.metrics().then(
      (body) => answer(res, 200, body, options.metrics.contentType),
      (error: unknown) => answer(res, 500, `metrics unavailable: ${describeError(error)}\n`),
    );
  };
}

/**
 * Serves /healthz, /readyz and /metrics on their own port (the workers have no other HTTP
 * server). Listen on loopback unless a scraper elsewhere needs it: /metrics is not
 * authenticated. A taken port is a StartupError.
 */
export function serveOperations(options: OperationsServerOptions): Promise<OperationsServer> {
  return serveHttp(operationsHandler(options), options.port, options.host, options.graceMs ?? 2000);
}

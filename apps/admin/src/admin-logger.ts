import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

/** What the admin API needs from pino (tests pass a pino logger writing to an array). */
export type AdminLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Polled by load balancers and scrapers: logged at debug while they succeed. */
const OPERATIONS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per request, after the answer: an audit trail of who changed what, when. Headers
 * are not logged (the Authorization header is the admin token); health checks, readiness
 * checks and scrapes go to debug (unless they fail) so a load balancer polling every second
 * does not drown the rest.
 */
export function requestLog(logger: AdminLogger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const entry = { method: req.method, url: req.originalUrl, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      if (OPERATIONS_PATHS.has(req.path) && res.statusCode < 400) logger.debug(entry, 'request');
      else logger.info(entry, 'request');
    });
    next();
  };
}

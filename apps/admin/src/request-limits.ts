import type { ApiKey } from '@mailbeacon/db';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import type { AdminLogger } from './admin-logger';

/*
 * The admin app's request limits, both in memory (one process; a restart forgets them):
 * - failed authentications per client address, shared by the console's login and the API's
 *   authentication step, so the admin token (or an API key) cannot be guessed through either;
 * - requests per API key, so a customer's dashboard cannot load the database for everyone.
 */

/** Failed authentications (wrong admin token, unknown or revoked API key) allowed per client address and window… */
export const FAILED_AUTHENTICATIONS_ALLOWED = 10;
/** …before that address must wait until the window ends, whatever it sends. */
export const FAILED_AUTHENTICATION_WINDOW_MS = 15 * 60_000;

/**
 * One count for every path that checks a secret (the console's login, the API's authentication
 * step), per client address (req.ip: ADMIN_TRUST_PROXY decides whose X-Forwarded-For is
 * believed). Only refused credentials count, when they are refused: a limiter that counts every
 * request and takes successes back when they finish would lock out an address with many slow
 * requests in flight. Over the limit, the right token waits too: otherwise the answer would
 * still tell a guesser when it found it.
 */
export class FailedAuthentications {
  private readonly store = new MemoryStore();

  constructor(private readonly logger: AdminLogger) {
    this.store.init({ windowMs: FAILED_AUTHENTICATION_WINDOW_MS } as Options);
  }

  /** Before checking a credential: 429 for an address over the limit. A console session already open passes. */
  readonly gate: RequestHandler = async (req, res, next) => {
    if (res.locals.authenticatedBy !== undefined) return next();
    const failures = await this.store.get(addressOf(req));
    if (failures === undefined || failures.totalHits < FAILED_AUTHENTICATIONS_ALLOWED) return next();
    const retryAfterSeconds = Math.max(1, Math.ceil(((failures.resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
    this.logger.warn({ ip: req.ip, method: req.method, path: req.path }, 'authentication refused: too many failed attempts from this address');
    res.set('Retry-After', String(retryAfterSeconds));
    res.status(429).json({ error: `too many failed authentications from your address: wait ${FAILED_AUTHENTICATION_WINDOW_MS / 60_000} minutes before trying again` });
  };

  /** A credential of this request was refused: count it against the address, and log it (never the credential). */
  async refused(req: Request, message: string, details: Record<string, unknown> = {}): Promise<void> {
    await this.store.increment(addressOf(req));
    this.logger.warn({ ip: req.ip, method: req.method, path: req.path, ...details }, message);
  }
}

/** IPv6 clients by their /56, as express-rate-limit does: one host usually has a whole range. */
const addressOf = (req: Request): string => ipKeyGenerator(req.ip ?? '');

export const DEFAULT_API_KEY_REQUESTS_PER_MINUTE = 120;

/** Requests per API key and minute (res.locals.apiKey, set by the authentication step); other requests pass. */
export function apiKeyRateLimit(requestsPerMinute: number, logger: AdminLogger): RequestHandler {
  const keyOf = (res: Response) => res.locals.apiKey as ApiKey | undefined;
  return rateLimit({
    windowMs: 60_000,
    limit: requestsPerMinute,
    skip: (_req, res) => keyOf(res) === undefined,
    keyGenerator: (_req, res) => `api-key:${keyOf(res)!.id}`,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res, _next, options) => {
      const apiKey = keyOf(res)!;
      logger.warn({ apiKey: apiKey.id, server: apiKey.server, path: req.path }, 'API key over its rate');
      res.status(options.statusCode).json({
        error: `API key ${apiKey.prefix}… is over its rate of ${requestsPerMinute} requests a minute: retry after ${res.get('Retry-After') ?? 'a minute'} seconds`,
      });
    },
  });
}

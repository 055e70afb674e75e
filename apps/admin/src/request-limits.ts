import type { ApiKey } from '@mailbeacon/db';
import type { RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
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

/** Set by the authentication step on a request that presented a credential and was refused for it (401). */
export const markFailedAuthentication = (res: Response): void => {
  res.locals.failedAuthentication = true;
};

/**
 * One limiter for every path that checks a secret: only refused credentials count (a success,
 * a 404, a CSRF failure do not), per client address (req.ip: ADMIN_TRUST_PROXY decides whose
 * X-Forwarded-For is believed). Over the limit, the right token waits too: otherwise the answer
 * would still tell a guesser when it found it.
 */
export function failedAuthenticationLimit(logger: AdminLogger): RequestHandler {
  return rateLimit({
    windowMs: FAILED_AUTHENTICATION_WINDOW_MS,
    limit: FAILED_AUTHENTICATIONS_ALLOWED,
    // A console session was opened with the token: its requests are not guesses.
    skip: (_req, res) => res.locals.authenticatedBy !== undefined,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.locals.failedAuthentication !== true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) => {
      logger.warn({ ip: req.ip, method: req.method, path: req.path }, 'authentication refused: too many failed attempts from this address');
      res.status(429).json({ error: `too many failed authentications from your address: wait ${FAILED_AUTHENTICATION_WINDOW_MS / 60_000} minutes before trying again` });
    },
  });
}

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

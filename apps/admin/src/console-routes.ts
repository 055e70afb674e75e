import path from 'node:path';
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { AdminLogger } from './admin-logger';
import { ApiError } from './api-errors';
import { adminTokenMatcher } from './auth';
import type { ConsoleAssets } from './console-assets';
import type { ConsoleCsrf } from './console-csrf';
import type { FailedAuthentications } from './request-limits';
import { CONSOLE_PATH, hasValidSession, SESSION_COOKIE, sessionCookieOptions, sessionIdOf, type ConsoleSessions } from './session-auth';

/** Where the console reaches the JSON API: the same routes as at the root, under the cookie's path. */
export const CONSOLE_API_PATH = `${CONSOLE_PATH}/api`;

export interface ConsoleOptions {
  sessions: ConsoleSessions;
  /** How long a session lasts at most (the cookie's Max-Age; the database enforces both limits). */
  sessionMaxAgeMs: number;
  /** The built console, or why it is missing (then /console/ answers 503 saying so). */
  assets: ConsoleAssets | Error;
}

const JSON_ONLY = express.json({ limit: '1kb' });

/**
 * What the built console needs and nothing more: its own scripts, styles and API, images
 * from itself and `data:` (the empty favicon), no plugins, no <base>, never framed (no
 * clickjacking of the domain forms), forms posting only to itself. An injected script or
 * style from anywhere else is refused by the browser even if a page ever echoed one.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const consoleSecurityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': CONSOLE_CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff', // a JSON answer or an asset is never run as something else
    'Referrer-Policy': 'no-referrer', // console URLs name servers and domains: no other site learns them
  });
  next();
};

/**
 * The console's own routes under /console: the login page and its files (public), the
 * CSRF token, login and logout, and the console itself with the rest of its files (behind a
 * session). Everything else under /console/api goes to the JSON API.
 */
export function consoleRouter(options: ConsoleOptions & { adminToken: string; csrf: ConsoleCsrf; logger: AdminLogger; failedAuthentications: FailedAuthentications }): Router {
  const { sessions, assets, csrf, logger, failedAuthentications } = options;
  const isAdminToken = adminTokenMatcher(options.adminToken);
  const router = express.Router({ strict: true });
  router.use(consoleSecurityHeaders);

  const requireSession: RequestHandler = async (req, res, next) => {
    if (await hasValidSession(req, sessions)) return next();
    res.status(401).type('text/plain').send('log in first: /console/login');
  };

  const secureCookieOptions = (req: Request) => ({ cookieOptions: { secure: req.secure, sameSite: 'strict' as const, path: CONSOLE_PATH, httpOnly: true } });

  router.get('/csrf-token', (req, res) => {
    res.json({ token: csrf.generateCsrfToken(req, res, secureCookieOptions(req)) });
  });

  router.post('/login', failedAuthentications.gate, csrf.doubleCsrfProtection, JSON_ONLY, async (req, res) => {
    const token = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || !isAdminToken(token.trim())) {
      await failedAuthentications.refused(req, 'console login refused: wrong admin token');
      throw new ApiError(401, 'That is not the admin token. Check ADMIN_TOKEN (npm start prints it) and try again.');
    }
    const previous = sessionIdOf(req);
    if (previous !== undefined) await sessions.end(previous); // a new id at each login: no session fixation
    res.cookie(SESSION_COOKIE, await sessions.start(), sessionCookieOptions(req, options.sessionMaxAgeMs));
    logger.info({ ip: req.ip }, 'console login');
    res.status(204).end();
  });

  router.post('/logout', csrf.doubleCsrfProtection, async (req, res) => {
    const id = sessionIdOf(req);
    if (id !== undefined) await sessions.end(id);
    res.clearCookie(SESSION_COOKIE, { ...sessionCookieOptions(req, 0), maxAge: undefined });
    res.status(204).end();
  });

  if (assets instanceof Error) {
    const unavailable: RequestHandler = (_req, res) => {
      res.status(503).type('text/plain').send(`the console is unavailable: ${assets.message}`);
    };
    router.get(['/', '/login', '/assets/{*file}'], unavailable);
    return router;
  }

  const page = (file: string): RequestHandler => (_req, res) => res.sendFile(path.join(assets.dir, file));

  router.get('/', async (req, res, next) => {
    if (await hasValidSession(req, sessions)) return page('index.html')(req, res, next);
    res.redirect(303, `${CONSOLE_PATH}/login`);
  });
  router.get('/login', async (req, res, next) => {
    if (await hasValidSession(req, sessions)) return res.redirect(303, `${CONSOLE_PATH}/`);
    page('login.html')(req, res, next);
  });

  // Built files have content hashes in their names: cached for good, but only by the browser.
  const files = express.static(assets.dir, { index: false, fallthrough: false, cacheControl: false });
  router.use('/assets', (req, res, next) => {
    res.set('Cache-Control', 'private, max-age=31536000, immutable');
    req.url = `/assets${req.url}`;
    if (assets.publicFiles.has(req.path.slice(1))) return files(req, res, next);
    return requireSession(req, res, () => files(req, res, next));
  });
  return router;
}

/** `/console/api/servers` is `/servers`: rewritten before routing, so both share every route and the one auth step. */
export const consoleApiAlias: RequestHandler = (req, _res, next) => {
  if (req.url.startsWith(`${CONSOLE_API_PATH}/`)) req.url = req.url.slice(CONSOLE_API_PATH.length);
  next();
};

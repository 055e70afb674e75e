import type { ConsoleSessionRepository } from '@mailbeacon/db';
import type { CookieOptions, Request, RequestHandler } from 'express';
import type { Authentication } from './auth';

/*
 * The console's session cookie. Only the console's own paths see it (the console reaches
 * the JSON API under /console/api), it never reaches scripts (HttpOnly) nor a request
 * another site starts (SameSite=Strict), and it is Secure whenever the request came over
 * https (directly, or through a proxy ADMIN_TRUST_PROXY believes).
 */

export const CONSOLE_PATH = '/console';
export const SESSION_COOKIE = 'mailbeacon_console_session';

export type ConsoleSessions = Pick<ConsoleSessionRepository, 'start' | 'resume' | 'end'>;

export function sessionCookieOptions(req: Request, maxAgeMs: number): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', secure: req.secure, path: CONSOLE_PATH, maxAge: maxAgeMs };
}

/** The session id the request's cookie holds, if any (cookie-parser has read the cookies). */
export function sessionIdOf(req: Request): string | undefined {
  const value = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** True when the request carries a session that exists and has not expired (its idle clock restarts). */
export async function hasValidSession(req: Request, sessions: ConsoleSessions): Promise<boolean> {
  const id = sessionIdOf(req);
  return id !== undefined && (await sessions.resume(id));
}

/**
 * The auth step's session half: a request without an Authorization header but with a valid
 * console session is authenticated (requireBearerToken, next, lets it through). A bearer
 * client is never judged by a cookie it may carry.
 */
export function authenticateBySession(sessions: ConsoleSessions): RequestHandler {
  return async (req, res, next) => {
    if (req.get('authorization') === undefined && (await hasValidSession(req, sessions))) res.locals.authenticatedBy = 'session' satisfies Authentication;
    next();
  };
}

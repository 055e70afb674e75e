import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Tells whether a string is the admin token. Both sides are hashed first so the comparison
 * is constant-time whatever the lengths (timingSafeEqual wants equal lengths, and comparing
 * lengths first would leak the token's).
 */
export function adminTokenMatcher(token: string): (given: string) => boolean {
  if (token === '') throw new RangeError('the admin token must not be empty');
  const expected = digest(token);
  return (given) => timingSafeEqual(digest(given), expected);
}

/** How a request proved it may use the API (res.locals.authenticatedBy): CSRF checks apply to sessions only. */
export type Authentication = 'bearer' | 'session';

/** Lets a request through with `Authorization: Bearer <token>`, or when an earlier step (authenticateBySession) has authenticated it. */
export function requireBearerToken(token: string): RequestHandler {
  const isAdminToken = adminTokenMatcher(token);
  return (req, res, next) => {
    if (res.locals.authenticatedBy !== undefined) return next();
    const given = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '')?.[1];
    if (given !== undefined && isAdminToken(given)) {
      res.locals.authenticatedBy = 'bearer' satisfies Authentication;
      return next();
    }
    res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'missing or wrong admin token (send Authorization: Bearer <ADMIN_TOKEN>)' });
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Lets a request through only with `Authorization: Bearer <token>`. Both sides are hashed
 * first so the comparison is constant-time whatever the lengths (timingSafeEqual wants
 * equal lengths, and comparing lengths first would leak the token's).
 */
export function requireBearerToken(token: string): RequestHandler {
  if (token === '') throw new RangeError('the admin token must not be empty');
  const expected = digest(token);
  return (req, res, next) => {
    const given = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'missing or wrong admin token (send Authorization: Bearer <ADMIN_TOKEN>)' });
  };
}

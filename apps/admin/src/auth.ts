import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { checkApiKey, looksLikeApiKey, type ApiKeyLookup } from './api-key-auth';
import type { FailedAuthentications } from './request-limits';

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
export type Authentication = 'bearer' | 'session' | 'api-key';

export interface AuthenticationOptions {
  /** Full access. */
  adminToken: string;
  /** Read-only access to one server's numbers (see api-key-auth.ts). */
  apiKeys: ApiKeyLookup;
  /** Refused credentials are counted per address there, and logged (never their value). */
  failedAuthentications: FailedAuthentications;
}

const bearerCredential = (header: string | undefined): string | undefined => /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];

/**
 * Lets a request through when an earlier step authenticated it (a console session, see
 * authenticateBySession), with `Authorization: Bearer <admin token>` (everything), or with an
 * API key within its scope. The admin token is tried first, so an admin token that happens to
 * start with `mbk_` still works. A credential refused (401) is counted against the
 * client's address (its gate runs before this step); a request with no credential at all
 * guesses nothing and is not counted.
 */
export function requireAuthentication({ adminToken, apiKeys, failedAuthentications }: AuthenticationOptions): RequestHandler {
  const isAdminToken = adminTokenMatcher(adminToken);
  return async (req, res, next) => {
    if (res.locals.authenticatedBy !== undefined) return next();
    const given = bearerCredential(req.get('authorization'));
    if (given !== undefined && isAdminToken(given)) {
      res.locals.authenticatedBy = 'bearer' satisfies Authentication;
      return next();
    }
    if (given !== undefined && looksLikeApiKey(given)) {
      const verdict = await checkApiKey(apiKeys, given, req.method, req.path);
      if (verdict.ok) {
        res.locals.authenticatedBy = 'api-key' satisfies Authentication;
        res.locals.apiKey = verdict.apiKey;
        return next();
      }
      if (verdict.status === 401) {
        await failedAuthentications.refused(req, 'API authentication refused: unknown or revoked API key', { reason: verdict.error });
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      }
      res.status(verdict.status).json({ error: verdict.error });
      return;
    }
    if (given !== undefined) {
      await failedAuthentications.refused(req, 'API authentication refused: wrong admin token');
    }
    res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'missing or wrong admin token (send Authorization: Bearer <ADMIN_TOKEN>)' });
  };
}

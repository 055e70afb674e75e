import { createHmac } from 'node:crypto';
import { doubleCsrf } from 'csrf-csrf';
import type { Request } from 'express';
import { CONSOLE_PATH, sessionIdOf } from './session-auth';

export const CSRF_COOKIE = 'mailbeacon_console_csrf';

/**
 * CSRF protection for the console (csrf-csrf: a signed double-submit token). The token is
 * bound to the session id (or to "no session" for the login form, against login CSRF) and
 * must come back in the X-CSRF-Token header, which no cross-site form or image can send.
 * The signing secret is derived from the admin token, so tokens survive a restart and die
 * with a new admin token.
 */
export function consoleCsrf(adminToken: string) {
  const secret = createHmac('sha256', adminToken).update('mailbeacon console csrf').digest('base64url');
  return doubleCsrf({
    getSecret: () => secret,
    getSessionIdentifier: (req: Request) => sessionIdOf(req) ?? '',
    cookieName: CSRF_COOKIE,
    cookieOptions: { sameSite: 'strict', path: CONSOLE_PATH, httpOnly: true },
    getCsrfTokenFromRequest: (req: Request) => req.get('x-csrf-token'),
    errorConfig: { statusCode: 403, message: 'missing or invalid CSRF token: reload the console page and try again', code: 'EBADCSRFTOKEN' },
  });
}

export type ConsoleCsrf = ReturnType<typeof consoleCsrf>;

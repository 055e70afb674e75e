/*
 * The console's only way to the server: the admin JSON API under /console/api (the same
 * routes bearer-token clients call at the root), authenticated by the session cookie, with
 * the CSRF token on every state-changing request.
 */

export const CONSOLE_BASE = '/console';
export const API_BASE = `${CONSOLE_BASE}/api`;
export const LOGIN_PAGE = `${CONSOLE_BASE}/login`;
const CSRF_HEADER = 'X-CSRF-Token';

/** One bad field of a request, as the API names it: `host`, `excludedDomains[1]`, `(root)`. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A refused request: the API's status, message and field issues. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';

  constructor(
    readonly status: number,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

let csrfToken: Promise<string> | undefined;

/** The double-submit token for this session (the server sets its cookie half at the same time). */
function currentCsrfToken(): Promise<string> {
  csrfToken ??= fetch(`${CONSOLE_BASE}/csrf-token`, { credentials: 'same-origin', cache: 'no-store' })
    .then((res) => (res.ok ? res.json() : Promise.reject(new ApiRequestError(res.status, 'could not start a secure form session; reload the page'))))
    .then((body: { token: string }) => body.token)
    .catch((error: unknown) => {
      csrfToken = undefined;
      throw error;
    });
  return csrfToken;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

async function errorOf(res: Response): Promise<ApiRequestError> {
  const body = (await res.json().catch(() => undefined)) as { error?: string; issues?: FieldIssue[] } | undefined;
  return new ApiRequestError(res.status, body?.error ?? `the server answered ${res.status}`, body?.issues);
}

/**
 * Sends one request to `url`; a 401 on a console page means the session ended (logout
 * elsewhere, expiry), so the login page takes over, unless `onUnauthenticated` is 'throw'.
 */
export async function send<T>(method: string, url: string, body?: unknown, onUnauthenticated: 'login' | 'throw' = 'login'): Promise<T> {
  const attempt = async (): Promise<Response> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (!SAFE_METHODS.has(method)) headers[CSRF_HEADER] = await currentCsrfToken();
    return fetch(url, { method, headers, credentials: 'same-origin', cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let res = await attempt();
  if (res.status === 403 && !SAFE_METHODS.has(method)) {
    // A token from before a login (or a restart with a new admin token): fetch a fresh one once.
    csrfToken = undefined;
    res = await attempt();
  }
  if (res.status === 401 && onUnauthenticated === 'login') {
    window.location.assign(LOGIN_PAGE);
    throw await errorOf(res);
  }
  if (!res.ok) throw await errorOf(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

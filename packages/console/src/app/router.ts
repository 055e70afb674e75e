import { useEffect, useState } from 'react';

/*
 * Routing by the URL's fragment (#/servers/…): the admin app serves one page at /console/,
 * so no server-side fallback is needed, links can be bookmarked, and Back works. A router
 * library would bring nothing a handful of routes need; each page adds its entry here.
 */

export type Route =
  | { page: 'servers' }
  | { page: 'server'; token: string }
  | { page: 'new-domain'; token: string }
  | { page: 'edit-domain'; host: string }
  | { page: 'numbers' }
  | { page: 'server-numbers'; token: string; params: URLSearchParams }
  | { page: 'not-found'; path: string };

const patterns: Array<[RegExp, (groups: string[], params: URLSearchParams) => Route]> = [
  [/^\/?$/, () => ({ page: 'servers' })],
  [/^\/servers$/, () => ({ page: 'servers' })],
  [/^\/servers\/([^/]+)$/, ([token]) => ({ page: 'server', token })],
  [/^\/servers\/([^/]+)\/domains\/new$/, ([token]) => ({ page: 'new-domain', token })],
  [/^\/domains\/([^/]+)\/edit$/, ([host]) => ({ page: 'edit-domain', host })],
  [/^\/numbers$/, () => ({ page: 'numbers' })],
  [/^\/servers\/([^/]+)\/numbers$/, ([token], params) => ({ page: 'server-numbers', token, params })],
];

/** `#/path?query`: the query holds a page's view (the numbers' range and filters), so it can be bookmarked. */
export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split(/\?(.*)/s, 2);
  for (const [pattern, route] of patterns) {
    const match = pattern.exec(path);
    if (!match) continue;
    const groups = match.slice(1).map(decodeFragmentPart);
    // A bad %-escape (a mangled link) is a page that does not exist, not a blank console.
    if (groups.includes(undefined)) break;
    return route(groups as string[], new URLSearchParams(query));
  }
  return { page: 'not-found', path };
}

function decodeFragmentPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined; // URIError: a '%' not followed by a whole UTF-8 sequence
  }
}

export const href = {
  servers: () => '#/servers',
  server: (token: string) => `#/servers/${encodeURIComponent(token)}`,
  newDomain: (token: string) => `#/servers/${encodeURIComponent(token)}/domains/new`,
  editDomain: (host: string) => `#/domains/${encodeURIComponent(host)}/edit`,
  numbers: () => '#/numbers',
  serverNumbers: (token: string, params?: URLSearchParams) => {
    const query = params?.toString();
    return `#/servers/${encodeURIComponent(token)}/numbers${query ? `?${query}` : ''}`;
  },
};

export const navigate = (to: string) => {
  window.location.hash = to;
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = (event: HashChangeEvent) => {
      const next = parseRoute(window.location.hash);
      // A new view of the same page (another range, a filter) keeps the reader where they are.
      const samePage = parseRoute(new URL(event.oldURL).hash);
      setRoute(next);
      if (samePage.page !== next.page || ('token' in samePage && 'token' in next && samePage.token !== next.token)) window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

import { useEffect, useState } from 'react';

/*
 * Routing by the URL's fragment (#/servers/…): the admin app serves one page at /console/,
 * so no server-side fallback is needed, links can be bookmarked, and Back works. A router
 * library would bring nothing a handful of routes need; the dashboard pages of later rounds
 * add their entries here.
 */

export type Route =
  | { page: 'servers' }
  | { page: 'server'; token: string }
  | { page: 'new-domain'; token: string }
  | { page: 'edit-domain'; host: string }
  | { page: 'numbers' }
  | { page: 'not-found'; path: string };

const patterns: Array<[RegExp, (groups: string[]) => Route]> = [
  [/^\/?$/, () => ({ page: 'servers' })],
  [/^\/servers$/, () => ({ page: 'servers' })],
  [/^\/servers\/([^/]+)$/, ([token]) => ({ page: 'server', token })],
  [/^\/servers\/([^/]+)\/domains\/new$/, ([token]) => ({ page: 'new-domain', token })],
  [/^\/domains\/([^/]+)\/edit$/, ([host]) => ({ page: 'edit-domain', host })],
  [/^\/numbers$/, () => ({ page: 'numbers' })],
];

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  for (const [pattern, route] of patterns) {
    const match = pattern.exec(path);
    if (match) return route(match.slice(1).map(decodeURIComponent));
  }
  return { page: 'not-found', path };
}

export const href = {
  servers: () => '#/servers',
  server: (token: string) => `#/servers/${encodeURIComponent(token)}`,
  newDomain: (token: string) => `#/servers/${encodeURIComponent(token)}/domains/new`,
  editDomain: (host: string) => `#/domains/${encodeURIComponent(host)}/edit`,
  numbers: () => '#/numbers',
};

export const navigate = (to: string) => {
  window.location.hash = to;
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => {
      setRoute(parseRoute(window.location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

import { API_BASE, CONSOLE_BASE, send } from '../shared/api-client';
import type { ApiKey, CheckResult, MessageTimeline, Server, StatsLinks, StatsSeries, StatsSummary, StatsTags, TrackingDomain, TrackingDomainSettings } from '../shared/types';

/** The admin API routes the console uses, typed (apps/admin/README.md lists them). */

const server = (token: string) => `${API_BASE}/servers/${encodeURIComponent(token)}`;
const domain = (host: string) => `${API_BASE}/domains/${encodeURIComponent(host)}`;

export const api = {
  listServers: async () => (await send<{ servers: Server[] }>('GET', `${API_BASE}/servers`)).servers,
  addServer: (name: string) => send<Server>('POST', `${API_BASE}/servers`, { name }),
  renameServer: (token: string, name: string) => send<Server>('PATCH', server(token), { name }),
  deleteServer: (token: string) => send<void>('DELETE', server(token)),
  listDomains: async (token?: string) =>
    (await send<{ domains: TrackingDomain[] }>('GET', `${API_BASE}/domains${token === undefined ? '' : `?server=${encodeURIComponent(token)}`}`)).domains,
  getDomain: (host: string) => send<TrackingDomain>('GET', domain(host)),
  addDomain: (input: { host: string; server: string } & TrackingDomainSettings) => send<TrackingDomain>('POST', `${API_BASE}/domains`, input),
  updateDomain: (host: string, settings: TrackingDomainSettings) => send<TrackingDomain>('PATCH', domain(host), settings),
  removeDomain: (host: string) => send<void>('DELETE', domain(host)),
  checkDomain: (host: string, aim: { address?: string; port?: number }) => send<CheckResult>('POST', `${domain(host)}/check`, aim),
  listApiKeys: async (token: string) => (await send<{ apiKeys: ApiKey[] }>('GET', `${server(token)}/api-keys`)).apiKeys,
  createApiKey: (token: string, name: string) => send<ApiKey & { key: string }>('POST', `${server(token)}/api-keys`, name.trim() ? { name: name.trim() } : {}),
  revokeApiKey: (token: string, id: number) => send<void>('DELETE', `${server(token)}/api-keys/${id}`),
  /** `query`: the stats query parameters (range or from/to, tag, trackingDomain, audience), as apps/admin/README.md "The numbers" lists them. */
  summary: (token: string, query: URLSearchParams) => send<StatsSummary>('GET', `${server(token)}/stats/summary?${query}`),
  series: (token: string, query: URLSearchParams) => send<StatsSeries>('GET', `${server(token)}/stats/series?${query}`),
  tags: (token: string, query: URLSearchParams) => send<StatsTags>('GET', `${server(token)}/stats/tags?${query}`),
  links: (token: string, query: URLSearchParams) => send<StatsLinks>('GET', `${server(token)}/stats/links?${query}`),
  message: (token: string, idOrToken: string) => send<MessageTimeline>('GET', `${server(token)}/messages/${encodeURIComponent(idOrToken)}`),
  logout: () => send<void>('POST', `${CONSOLE_BASE}/logout`, undefined, 'throw'),
};

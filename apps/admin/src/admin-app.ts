import type { ApiKeyRepository, ServerRepository, TrackingDomain, TrackingDomainRepository } from '@mailbeacon/db';
import { UnknownServerError } from '@mailbeacon/db';
import type { TrustProxy } from '@mailbeacon/contracts';
import type { CheckTrackingDomain } from '@mailbeacon/domains';
import cookieParser from 'cookie-parser';
import { checkReadiness, type Readiness } from '@mailbeacon/service';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { requestLog, type AdminLogger } from './admin-logger';
import { ApiError, errorHandler, notFound } from './api-errors';
import { requireAuthentication } from './auth';
import { consoleCsrf } from './console-csrf';
import { consoleApiAlias, consoleRouter, type ConsoleOptions } from './console-routes';
import { AdminMetrics } from './metrics';
import { apiKeyRateLimit, DEFAULT_API_KEY_REQUESTS_PER_MINUTE, FailedAuthentications } from './request-limits';
import { openApiDocument } from './openapi';
import { authenticateBySession, CONSOLE_PATH } from './session-auth';
import { statsRoutes, type StatsRouteDeps } from './stats-routes';
import { apiKeyIdParam, domainCheckInput, hostParam, newApiKeyInput, newServerInput, newTrackingDomainInput, serverFilter, serverTokenParam, trackingDomainUpdateInput } from './request-inputs';

export interface AdminDeps {
  servers: Pick<ServerRepository, 'list' | 'create' | 'findByToken' | 'rename' | 'remove'>;
  domains: Pick<TrackingDomainRepository, 'list' | 'add' | 'findByHost' | 'update' | 'remove' | 'recordCheck'>;
  /** The numbers (GET /servers/:token/stats/…, /servers/:token/messages/…); the process passes a StatsReader. */
  stats: StatsRouteDeps['stats'];
  /** Read-only keys to one server's numbers: managed under /servers/:token/api-keys, checked on every request that presents one. */
  apiKeys: Pick<ApiKeyRepository, 'create' | 'list' | 'revoke' | 'findByKey'>;
  /** Injected so tests (and deployments) can aim it; the process passes checkTrackingDomain. */
  checkDomain: CheckTrackingDomain;
  /** Every route but GET /healthz and GET /readyz requires `Authorization: Bearer <adminToken>` (or an API key, within its scope). */
  adminToken: string;
  logger: AdminLogger;
  /** GET /readyz: 200 while this says ready (the process passes a PostgreSQL check), else 503. Default: always ready. */
  ready?: () => Readiness | Promise<Readiness>;
  /** Served on GET /metrics (behind the token). Default: a new AdminMetrics. */
  metrics?: AdminMetrics;
  /** The web console under /console (login, sessions, CSRF). Default: none, the JSON API only. */
  console?: ConsoleOptions;
  /** Whose X-Forwarded-Proto/-For is believed (Express `trust proxy`). Default: nobody's. */
  trustProxy?: TrustProxy;
  /** Requests an API key may make per minute (429 beyond). Default: DEFAULT_API_KEY_REQUESTS_PER_MINUTE. */
  apiKeyRequestsPerMinute?: number;
}

/** A readiness answer slower than this is `not ready`. */
const READY_TIMEOUT_MS = 5000;

export const JSON_BODY_LIMIT = '100kb';

const noSuchDomain = (host: string) => new ApiError(404, `no tracking domain ${host}`);
const noSuchServer = (token: string) => new ApiError(404, `no server with token ${token}`);

/** Answers carry server tokens and settings: no proxy or browser should keep them. */
const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/** JSON only: a body of another type would otherwise reach the handlers as "no body". */
const jsonBodiesOnly: RequestHandler = (req, _res, next) => {
  // req.is() is null without a body, false for a body of another type; clients often send
  // `Content-Length: 0` without a type for an empty POST, which is no body either.
  const empty = req.headers['content-length'] === '0';
  if (!empty && req.is('application/json') === false) return next(new ApiError(415, 'request bodies must be JSON (Content-Type: application/json)'));
  next();
};

/** The JSON admin API for servers and tracking domains. */
export function createAdminApp(deps: AdminDeps): Express {
  const { servers, domains, apiKeys, checkDomain, logger } = deps;
  const metrics = deps.metrics ?? new AdminMetrics();
  const ready = deps.ready ?? (() => true);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ? [...deps.trustProxy] : false);
  app.use(noStore, metrics.observe(), requestLog(logger));

  // Open, for load balancers and orchestrators; it says nothing but "the process answers".
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // Open as well: whether the API can serve (its database answers); the reason is no secret.
  app.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(ready, READY_TIMEOUT_MS);
    if (readiness.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not ready', reason: readiness.reason });
  });

  // Open too: it describes the shape of an open-source API, nothing of this deployment, and
  // the holders of API keys (and their code generators) need it without the admin token.
  const document = openApiDocument(packageVersion());
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  // Guessing the admin token (or a key) through the login or the API counts the same, per address.
  const failedAuthentications = new FailedAuthentications(logger);

  // The console: its pages and login under /console; its API calls (/console/api/…) are the
  // API's routes below, authenticated by the session cookie instead of the bearer token.
  let csrfForSessions: RequestHandler = (_req, _res, next) => next();
  if (deps.console) {
    const csrf = consoleCsrf(deps.adminToken);
    app.use(cookieParser());
    app.use(CONSOLE_PATH, consoleRouter({ ...deps.console, adminToken: deps.adminToken, csrf, logger, failedAuthentications }));
    app.use(consoleApiAlias, authenticateBySession(deps.console.sessions));
    // A browser sends the cookie whoever made it send the request: a session's state changes need the CSRF token too.
    csrfForSessions = (req, res, next) => (res.locals.authenticatedBy === 'session' ? csrf.doubleCsrfProtection(req, res, next) : next());
  }

  // Authentication before body parsing: nothing of an unauthenticated request is read.
  app.use(
    failedAuthentications.gate,
    requireAuthentication({ adminToken: deps.adminToken, apiKeys, failedAuthentications }),
    apiKeyRateLimit(deps.apiKeyRequestsPerMinute ?? DEFAULT_API_KEY_REQUESTS_PER_MINUTE, logger),
    csrfForSessions,
    jsonBodiesOnly,
    express.json({ limit: JSON_BODY_LIMIT }),
  );

  // Behind the token: request counts and process figures are nobody else's business.
  app.get('/metrics', async (_req, res) => {
    const body = await metrics.metrics();
    res.set('Content-Type', metrics.contentType).send(body);
  });

  app.get('/servers', async (_req, res) => {
    res.json({ servers: await servers.list() });
  });

  app.post('/servers', async (req, res) => {
    const input = newServerInput(req.body);
    res.status(201).json(await servers.create(input.name));
  });

  // The token stays: it is in every tracking URL already sent.
  app.patch('/servers/:token', async (req, res) => {
    const token = serverTokenParam(req.params.token);
    const { name } = newServerInput(req.body);
    const server = await servers.rename(token, name);
    if (!server) throw noSuchServer(token);
    res.json(server);
  });

  // Refused (409) while it has tracking domains: their links would stop being counted.
  app.delete('/servers/:token', async (req, res) => {
    const token = serverTokenParam(req.params.token);
    if (!(await servers.remove(token))) throw noSuchServer(token);
    res.status(204).end();
  });

  // The key is in this answer only: it is stored hashed and can never be shown again.
  app.post('/servers/:token/api-keys', async (req, res) => {
    const token = serverTokenParam(req.params.token);
    const { name } = newApiKeyInput(req.body);
    const created = await knownServer(token, () => apiKeys.create(token, name ?? null));
    res.status(201).json({ ...created.apiKey, key: created.key });
  });

  app.get('/servers/:token/api-keys', async (req, res) => {
    const token = serverTokenParam(req.params.token);
    if (!(await servers.findByToken(token))) throw noSuchServer(token);
    res.json({ apiKeys: await apiKeys.list(token) });
  });

  // Revoked, not deleted: the list keeps showing when it stopped working.
  app.delete('/servers/:token/api-keys/:id', async (req, res) => {
    const token = serverTokenParam(req.params.token);
    const id = apiKeyIdParam(req.params.id);
    if (!(await apiKeys.revoke(id, token))) throw new ApiError(404, `server ${token} has no API key ${id}`);
    res.status(204).end();
  });

  app.get('/domains', async (req, res) => {
    const server = serverFilter(req.query.server);
    // An unknown token is a mistake, not a server without domains.
    if (server !== undefined && !(await servers.findByToken(server))) throw new UnknownServerError(`no server with token ${server}`);
    res.json({ domains: await domains.list(server) });
  });

  app.post('/domains', async (req, res) => {
    const domain = await domains.add(newTrackingDomainInput(req.body));
    res.status(201).location(`/domains/${domain.host}`).json(domain);
  });

  app.get('/domains/:host', async (req, res) => {
    const host = hostParam(req.params.host);
    res.json(await found(host, domains.findByHost(host)));
  });

  app.patch('/domains/:host', async (req, res) => {
    const host = hostParam(req.params.host);
    const settings = trackingDomainUpdateInput(req.body);
    res.json(await found(host, domains.update(host, settings)));
  });

  app.delete('/domains/:host', async (req, res) => {
    const host = hostParam(req.params.host);
    if (!(await domains.remove(host))) throw noSuchDomain(host);
    res.status(204).end();
  });

  // The check uses the domain's own ssl setting: it proves the links it will get work.
  app.post('/domains/:host/check', async (req, res) => {
    const host = hostParam(req.params.host);
    const options = domainCheckInput(req.body);
    const domain = await found(host, domains.findByHost(host));
    const result = await checkDomain(domain.host, domain.ssl, options);
    await domains.recordCheck(domain.host, result.ok ? 'ok' : 'failed', result.verdict);
    res.json({ ...result });
  });

  app.use(statsRoutes({ servers, stats: deps.stats }));

  app.use(notFound(), errorHandler(logger));
  return app;
}

/** The admin package's version, read next to the compiled (or, under Jest, the source) files. */
const packageVersion = (): string => (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/** A server token in the path that names no server is a 404 (in a body it would be a 422). */
async function knownServer<T>(token: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UnknownServerError) throw noSuchServer(token);
    throw error;
  }
}

async function found(host: string, lookup: Promise<TrackingDomain | undefined>): Promise<TrackingDomain> {
  const domain = await lookup;
  if (!domain) throw noSuchDomain(host);
  return domain;
}

import { parseStatsQuery, type StatsQuery } from '@mailbeacon/contracts';
import { statsScope, type ServerRepository, type StatsReader, type StatsScope } from '@mailbeacon/db';
import { Router } from 'express';
import { ApiError } from './api-errors';
import { serverTokenParam } from './request-inputs';

/*
 * The numbers, read-only, one server at a time: everything lives under /servers/:token/stats
 * and /servers/:token/messages, so a key scoped to a server can be checked on the path alone.
 * Thin: the query is validated by the contracts' parseStatsQuery (as `mailbeacon stats`
 * does), the numbers come from StatsReader.
 */

export interface StatsRouteDeps {
  servers: Pick<ServerRepository, 'findByToken'>;
  stats: Pick<StatsReader, 'summary' | 'series' | 'byTag' | 'topLinks' | 'message'>;
}

/** The 1–1000 characters of a message's token or its platform id (which may hold almost anything). */
function messageKeyParam(value: string): string {
  if (value.length === 0 || value.length > 1000 || value.includes('\0')) {
    throw new ApiError(400, 'invalid message id', [{ field: 'idOrToken', message: 'must be a message token or the platform\'s message id (1-1000 characters, no NUL)' }]);
  }
  return value;
}

export function statsRoutes({ servers, stats }: StatsRouteDeps): Router {
  const router = Router();

  /** The server of the path (404 when none has the token) and the validated query. */
  async function scopeOf(params: { token: string }, query: unknown): Promise<{ scope: StatsScope; query: StatsQuery }> {
    const token = serverTokenParam(params.token);
    const parsed = parseStatsQuery(query ?? {});
    if (!(await servers.findByToken(token))) throw new ApiError(404, `no server with token ${token}`);
    return { scope: statsScope(token, parsed), query: parsed };
  }

  router.get('/servers/:token/stats/summary', async (req, res) => {
    const { scope } = await scopeOf(req.params, req.query);
    res.json({ ...scope, ...(await stats.summary(scope)) });
  });

  router.get('/servers/:token/stats/series', async (req, res) => {
    const { scope, query } = await scopeOf(req.params, req.query);
    res.json({ ...scope, by: query.by, points: await stats.series(scope, query.by) });
  });

  router.get('/servers/:token/stats/tags', async (req, res) => {
    const { scope } = await scopeOf(req.params, req.query);
    res.json({ ...scope, tags: await stats.byTag(scope) });
  });

  router.get('/servers/:token/stats/links', async (req, res) => {
    const { scope, query } = await scopeOf(req.params, req.query);
    res.json({ ...scope, limit: query.limit, links: await stats.topLinks(scope, query.limit) });
  });

  router.get('/servers/:token/messages/:idOrToken', async (req, res) => {
    const token = serverTokenParam(req.params.token);
    const key = messageKeyParam(req.params.idOrToken);
    if (!(await servers.findByToken(token))) throw new ApiError(404, `no server with token ${token}`);
    const message = await stats.message(token, key);
    if (!message) throw new ApiError(404, `server ${token} has no message with token or platform id ${JSON.stringify(key)}`);
    res.json(message);
  });

  return router;
}

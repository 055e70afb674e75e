import { ApiKeyRepository, ServerRepository, StatsReader, TrackingDomainRepository, type Database, type Kysely } from '@mailbeacon/db';
import { checkTrackingDomain } from '@mailbeacon/domains';
import type { Express } from 'express';
import { createAdminApp, type AdminDeps } from '../src/admin-app';
import type { AdminLogger } from '../src/admin-logger';

/** The admin app over the real repositories of a (test) database and the real domain check, as the process builds it; `more` adds or replaces dependencies (the console's). */
export function adminAppOver(db: Kysely<Database>, adminToken: string, logger: AdminLogger, more: Partial<AdminDeps> = {}): Express {
  return createAdminApp({
    servers: new ServerRepository(db),
    domains: new TrackingDomainRepository(db),
    stats: new StatsReader(db),
    apiKeys: new ApiKeyRepository(db),
    checkDomain: checkTrackingDomain,
    adminToken,
    logger,
    ...more,
  });
}

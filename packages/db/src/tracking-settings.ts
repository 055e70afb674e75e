import type { Kysely } from 'kysely';
import type { Database } from './schema';
import { ServerRepository } from './servers';
import { TrackingDomainRepository, type TrackingDomain } from './tracking-domains';

/**
 * What the rewriter needs to choose a tracking domain: every server token, every tracking domain.
 * A copy kept fresh by migration 0003's notifications is fresh in what the rewriter uses (tokens,
 * hosts, owners, tracking settings), not in a domain's check results or updatedAt.
 */
export interface TrackingSettings {
  servers: string[];
  domains: TrackingDomain[];
}

/** Both read in one snapshot, so a server and its domains are never seen half-changed. */
export function loadTrackingSettings(db: Kysely<Database>): Promise<TrackingSettings> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const servers = await new ServerRepository(trx).list();
      const domains = await new TrackingDomainRepository(trx).list();
      return { servers: servers.map((server) => server.token), domains };
    });
}

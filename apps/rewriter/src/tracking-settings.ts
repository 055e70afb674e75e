import { loadTrackingSettings, TrackingSettingsListener, type Database, type Kysely } from '@mailbeacon/db';
import { TrackingDomainCache } from '@mailbeacon/domains';
import type { Logger } from 'pino';
import type { RewriterConfig } from './config';

/**
 * The servers and tracking domains the rewriter chooses from: loaded from PostgreSQL, reloaded
 * as soon as a change is announced (LISTEN, on a connection of its own), and every
 * DOMAIN_REFRESH_MS as a safety net. Throws when the first load fails.
 */
export async function startTrackingDomainCache(db: Kysely<Database>, config: Pick<RewriterConfig, 'DATABASE_URL' | 'DOMAIN_REFRESH_MS'>, logger: Logger): Promise<TrackingDomainCache> {
  const changes = new TrackingSettingsListener(config.DATABASE_URL, {
    onError: (error) => logger.warn({ err: error }, 'not listening for tracking-domain changes; reconnecting (meanwhile they are reloaded every DOMAIN_REFRESH_MS)'),
  });
  const cache = new TrackingDomainCache(
    { load: () => loadTrackingSettings(db) },
    {
      refreshMs: config.DOMAIN_REFRESH_MS,
      changes,
      onRefreshError: (error) => logger.warn({ err: error }, 'could not reload tracking domains; using the last good copy'),
    },
  );
  try {
    await cache.start();
  } catch (error) {
    await cache.stop();
    throw error;
  }
  return cache;
}

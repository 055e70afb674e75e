import { loadTrackingSettings, redact, TrackingSettingsListener, type Database, type Kysely } from '@mailbeacon/db';
import { TrackingDomainCache, type TrackingSettingsChanges } from '@mailbeacon/domains';
import { describeError, OutageLog } from '@mailbeacon/service';
import type { Logger } from 'pino';
import type { RewriterConfig } from './config';

/**
 * The servers and tracking domains the rewriter chooses from: loaded from PostgreSQL, reloaded
 * as soon as a change is announced (LISTEN, on a connection of its own), and every
 * DOMAIN_REFRESH_MS as a safety net. Throws when the first load fails.
 *
 * While the listening connection is lost (PostgreSQL away), the listener retries every ≤ 5 s
 * and the reloads fail every DOMAIN_REFRESH_MS: that is one warning with the cause, a reminder
 * a minute, and one line when it listens again, not a line per attempt.
 */
export async function startTrackingDomainCache(
  db: Kysely<Database>,
  config: Pick<RewriterConfig, 'DATABASE_URL' | 'DOMAIN_REFRESH_MS'>,
  logger: Logger,
  { reminderMs }: { /** While not listening, a reminder this often (default 60 s). */ reminderMs?: number } = {},
): Promise<TrackingDomainCache> {
  const where = redact(config.DATABASE_URL);
  const outage = new OutageLog({
    logger,
    fields: { postgres: where },
    reminderMs,
    unknownCause: 'the listening connection was closed',
    lost: (cause) =>
      `not listening for tracking-domain changes (PostgreSQL at ${where}: ${cause}); reconnecting quietly, and meanwhile reloading every DOMAIN_REFRESH_MS (the last good copy serves while that fails)`,
    stillLost: (seconds, cause) => `still not listening for tracking-domain changes after ${seconds} s (PostgreSQL at ${where}: ${cause})`,
    back: (seconds) => `listening for tracking-domain changes again after ${seconds} s`,
  });
  const listener = new TrackingSettingsListener(config.DATABASE_URL, {
    onError: (error) => {
      outage.failed(describeError(error));
      outage.announce();
    },
    onListening: () => outage.recovered(),
  });
  const changes: TrackingSettingsChanges = {
    start: (changed) => listener.start(changed),
    sync: () => listener.sync(),
    stop: async () => {
      outage.close();
      await listener.stop();
    },
  };
  const cache = new TrackingDomainCache(
    { load: () => loadTrackingSettings(db) },
    {
      refreshMs: config.DOMAIN_REFRESH_MS,
      changes,
      onRefreshError: (error) => {
        // During an outage the failed reloads are part of it; otherwise (a query failing on a
        // reachable PostgreSQL) each is worth a line.
        if (outage.down) outage.failed();
        else logger.warn({ err: error }, 'could not reload tracking domains; using the last good copy');
      },
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

import { ApiKeyRepository, openDatabase, redact, ServerRepository, StatsReader, TrackingDomainRepository } from '@mailbeacon/db';
import { checkTrackingDomain, type CheckTrackingDomain } from '@mailbeacon/domains';
import { describeError, recentCheck, runService, serveHttp, StartupError } from '@mailbeacon/service';
import { pino, type Logger } from 'pino';
import { createAdminApp } from './admin-app';
import { GENERATED_ADMIN_TOKEN_WARNING, loadAdminConfig, type AdminConfig } from './config';

export { StartupError };

export interface StartAdminOptions {
  /** Default: pino at config.logLevel. */
  logger?: Logger;
  /** Default: checkTrackingDomain from @mailbeacon/domains. */
  checkDomain?: CheckTrackingDomain;
  /** How long requests in flight may take to finish once close() is called (default 10 s). */
  shutdownGraceMs?: number;
}

export interface RunningAdmin {
  /** e.g. http://127.0.0.1:8081 */
  url: string;
  /** Stops accepting, finishes requests in flight, closes the database. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts the admin API in this process: open (create, migrate) the database, then listen. */
export async function startAdmin(config: AdminConfig, options: StartAdminOptions = {}): Promise<RunningAdmin> {
  const logger = options.logger ?? pino({ name: 'admin', level: config.logLevel });
  let db;
  try {
    db = await openDatabase(config.databaseUrl, { maxConnections: 5 });
  } catch (error) {
    throw new StartupError(`cannot open the database ${redact(config.databaseUrl)}: ${describeError(error)}`);
  }

  const app = createAdminApp({
    servers: new ServerRepository(db),
    domains: new TrackingDomainRepository(db),
    stats: new StatsReader(db),
    apiKeys: new ApiKeyRepository(db),
    checkDomain: options.checkDomain ?? checkTrackingDomain,
    adminToken: config.adminToken,
    logger,
    // Ready while PostgreSQL answers `select 1` (a success within the last 3 s counts).
    ready: recentCheck(() => db.selectNoFrom((eb) => eb.lit(1).as('one')).execute(), { name: 'PostgreSQL' }),
  });
  let http;
  try {
    http = await serveHttp(app, config.port, config.host, options.shutdownGraceMs ?? 10_000);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const { url } = http;

  logger.info({ url }, 'admin API listening');
  if (config.adminTokenGenerated) logger.warn({ adminToken: config.adminToken }, GENERATED_ADMIN_TOKEN_WARNING);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await http.close();
      await db.destroy();
      logger.info('admin API stopped');
    })());
  return { url, close };
}

/** The process: see runService for exit codes and signals. */
export function main(): Promise<void> {
  return runService({ name: 'admin', loadConfig: loadAdminConfig, logLevel: (config) => config.logLevel, start: (config, logger) => startAdmin(config, { logger }) });
}

// Run only as the entry point (`node dist/main.js`); importing it (tests, `npm start`) starts nothing.
if (require.main === module) void main();

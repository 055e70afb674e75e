import { ApiKeyRepository, ConsoleSessionRepository, createDatabase, openDatabase, redact, ServerRepository, StatsReader, TrackingDomainRepository } from '@mailbeacon/db';
import { checkTrackingDomain, type CheckTrackingDomain } from '@mailbeacon/domains';
import { describeError, recentCheck, runService, serveHttp, StartupError } from '@mailbeacon/service';
import { pino, type Logger } from 'pino';
import { createAdminApp } from './admin-app';
import { findConsoleAssets } from './console-assets';
import { CONSOLE_PATH } from './session-auth';
import { GENERATED_ADMIN_TOKEN_WARNING, loadAdminConfig, type AdminConfig } from './config';

export { StartupError };

/**
 * The reads of the numbers get a pool of their own, this small, with the statement timeout on
 * each connection: however many customers' dashboards ask at once, the console's writes and
 * the readiness probe's `select 1` on the main pool always find a connection.
 */
export const STATS_CONNECTIONS = 3;

export interface StartAdminOptions {
  /** Default: pino at config.logLevel. */
  logger?: Logger;
  /** Default: checkTrackingDomain from @mailbeacon/domains. */
  checkDomain?: CheckTrackingDomain;
  /** How long requests in flight may take to finish once close() is called (default 10 s). */
  shutdownGraceMs?: number;
  /** Default: findConsoleAssets() (the build of @mailbeacon/console). */
  findConsoleAssets?: typeof findConsoleAssets;
}

export interface RunningAdmin {
  /** e.g. http://127.0.0.1:8081 */
  url: string;
  /** The console's login page, e.g. http://127.0.0.1:8081/console/ */
  consoleUrl: string;
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

  // Migrated above: this pool only connects.
  const statsDb = createDatabase(config.databaseUrl, { maxConnections: STATS_CONNECTIONS, statementTimeoutMs: config.statsStatementTimeoutMs });
  const closeDatabases = () => Promise.all([db.destroy(), statsDb.destroy()]);

  // The API serves without the console's files; the console then says why it is missing.
  let assets;
  try {
    assets = (options.findConsoleAssets ?? findConsoleAssets)();
  } catch (error) {
    assets = error as Error;
    logger.error(`the console at ${CONSOLE_PATH}/ is unavailable: ${assets.message}`);
  }

  const app = createAdminApp({
    servers: new ServerRepository(db),
    domains: new TrackingDomainRepository(db),
    stats: new StatsReader(statsDb),
    apiKeys: new ApiKeyRepository(db),
    checkDomain: options.checkDomain ?? checkTrackingDomain,
    adminToken: config.adminToken,
    logger,
    console: { sessions: new ConsoleSessionRepository(db, config.consoleSession), sessionMaxAgeMs: config.consoleSession.maxAgeMs, assets },
    trustProxy: config.trustProxy,
    apiKeyRequestsPerMinute: config.apiKeyRequestsPerMinute,
    // Ready while PostgreSQL answers `select 1` (a success within the last 3 s counts).
    ready: recentCheck(() => db.selectNoFrom((eb) => eb.lit(1).as('one')).execute(), { name: 'PostgreSQL' }),
  });
  let http;
  try {
    http = await serveHttp(app, config.port, config.host, options.shutdownGraceMs ?? 10_000);
  } catch (error) {
    await closeDatabases();
    throw error;
  }
  const { url } = http;
  const consoleUrl = `${url}${CONSOLE_PATH}/`;

  logger.info({ url, console: consoleUrl }, 'admin API listening');
  if (config.adminTokenGenerated) logger.warn({ adminToken: config.adminToken }, GENERATED_ADMIN_TOKEN_WARNING);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await http.close();
      await closeDatabases();
      logger.info('admin API stopped');
    })());
  return { url, consoleUrl, close };
}

/** The process: see runService for exit codes and signals. */
export function main(): Promise<void> {
  return runService({ name: 'admin', loadConfig: loadAdminConfig, logLevel: (config) => config.logLevel, start: (config, logger) => startAdmin(config, { logger }) });
}

// Run only as the entry point (`node dist/main.js`); importing it (tests, `npm start`) starts nothing.
if (require.main === module) void main();

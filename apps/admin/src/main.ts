import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase, redact, ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { checkTrackingDomain, type CheckTrackingDomain } from '@mailbeacon/domains';
import { describeError, runService, StartupError } from '@mailbeacon/service';
import { pino, type Logger } from 'pino';

export { StartupError };
import { createAdminApp } from './admin-app';
import { GENERATED_ADMIN_TOKEN_WARNING, loadAdminConfig, type AdminConfig } from './config';
import { gracefulCloser } from './graceful-close';


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


function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
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
    checkDomain: options.checkDomain ?? checkTrackingDomain,
    adminToken: config.adminToken,
    logger,
  });
  const server = createServer(app);
  const closeServer = gracefulCloser(server, options.shutdownGraceMs ?? 10_000);
  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    await db.destroy();
    throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${describeError(error)}`);
  }

  const url = urlOf(server.address() as AddressInfo);
  logger.info({ url }, 'admin API listening');
  if (config.adminTokenGenerated) logger.warn({ adminToken: config.adminToken }, GENERATED_ADMIN_TOKEN_WARNING);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await closeServer();
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

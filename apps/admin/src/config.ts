import { randomBytes } from 'node:crypto';
import { ConfigError, databaseUrl, listenHost, loadConfig, loadConfigs, logLevel, port, type Env, type LogLevel } from '@mailbeacon/contracts';
import { z } from 'zod';

export const DEFAULT_ADMIN_PORT = 8081;
/** Loopback only: the admin API can rewire every tracking domain, so exposing it must be a decision. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const MIN_ADMIN_TOKEN_LENGTH = 16;

export const GENERATED_ADMIN_TOKEN_WARNING =
  'ADMIN_TOKEN is not set: generated a random admin token for this run only (adminToken). ' +
  'It changes at every start; set ADMIN_TOKEN to a random secret of at least ' +
  `${MIN_ADMIN_TOKEN_LENGTH} characters for anything but local use.`;

const schema = z.object({
  ADMIN_PORT: port(DEFAULT_ADMIN_PORT),
  ADMIN_HOST: listenHost(DEFAULT_ADMIN_HOST),
  // Never rejected here: loadConfig quotes bad values in its message, and a token must not
  // end up in a log. Its length is checked below, reporting only the length.
  ADMIN_TOKEN: z.string().optional(),
  DATABASE_URL: databaseUrl(),
  LOG_LEVEL: logLevel(),
});

export interface AdminConfig {
  port: number;
  host: string;
  /** Clients send it as `Authorization: Bearer <token>`. */
  adminToken: string;
  /** True when ADMIN_TOKEN was unset and adminToken was made up at start-up (the process logs it once). */
  adminTokenGenerated: boolean;
  databaseUrl: string;
  logLevel: LogLevel;
}

/** ADMIN_TOKEN trimmed (a token pasted from a file often carries a trailing newline); undefined when unset. */
function adminToken(env: Env): string | undefined {
  const token = env.ADMIN_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError([{ variable: 'ADMIN_TOKEN', message: `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters long (got ${token.length} characters)` }]);
  }
  return token;
}

/** Reads the admin settings; a ConfigError lists every bad variable at once. */
export function loadAdminConfig(env: Env = process.env): AdminConfig {
  const [values, token] = loadConfigs(
    () => loadConfig(schema, env),
    () => adminToken(env),
  );
  return {
    port: values.ADMIN_PORT,
    host: values.ADMIN_HOST,
    adminToken: token ?? randomBytes(32).toString('base64url'),
    adminTokenGenerated: token === undefined,
    databaseUrl: values.DATABASE_URL,
    logLevel: values.LOG_LEVEL,
  };
}

import { randomBytes } from 'node:crypto';
import { ConfigError, databaseUrl, listenHost, loadConfig, loadConfigs, logLevel, port, positiveInt, trustProxy, type Env, type LogLevel, type TrustProxy } from '@mailbeacon/contracts';
import { z } from 'zod';
import { DEFAULT_API_KEY_REQUESTS_PER_MINUTE } from './request-limits';

export const DEFAULT_ADMIN_PORT = 8081;
/** Loopback only: the admin API can rewire every tracking domain, so exposing it must be a decision. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const MIN_ADMIN_TOKEN_LENGTH = 16;
/** A proxy on the same machine (nginx terminating TLS) is believed about https; nothing else. */
export const DEFAULT_ADMIN_TRUST_PROXY: TrustProxy = ['loopback'];
/** A console session ends after this long without a request… */
export const DEFAULT_CONSOLE_SESSION_IDLE_MINUTES = 60;
/** …and this long after login, however active. */
export const DEFAULT_CONSOLE_SESSION_MAX_HOURS = 12;

/** A read of the numbers (an API key holder's 400-day range…) is cancelled after this long. */
export const DEFAULT_STATS_STATEMENT_TIMEOUT_MS = 10_000;

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
  ADMIN_TRUST_PROXY: trustProxy(DEFAULT_ADMIN_TRUST_PROXY),
  CONSOLE_SESSION_IDLE_MINUTES: positiveInt(DEFAULT_CONSOLE_SESSION_IDLE_MINUTES),
  CONSOLE_SESSION_MAX_HOURS: positiveInt(DEFAULT_CONSOLE_SESSION_MAX_HOURS),
  API_KEY_REQUESTS_PER_MINUTE: positiveInt(DEFAULT_API_KEY_REQUESTS_PER_MINUTE),
  STATS_STATEMENT_TIMEOUT_MS: positiveInt(DEFAULT_STATS_STATEMENT_TIMEOUT_MS),
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
  /** Whose X-Forwarded-Proto/-For is believed: it decides whether the console's cookies are Secure, and the address logins are counted by. */
  trustProxy: TrustProxy;
  /** Console sessions: idle and absolute limits, in milliseconds. */
  consoleSession: { idleMs: number; maxAgeMs: number };
  /** Requests each API key may make per minute (429 beyond). */
  apiKeyRequestsPerMinute: number;
  /** PostgreSQL's statement_timeout for the reads of the numbers (503 beyond). */
  statsStatementTimeoutMs: number;
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
    trustProxy: values.ADMIN_TRUST_PROXY,
    consoleSession: { idleMs: values.CONSOLE_SESSION_IDLE_MINUTES * 60_000, maxAgeMs: values.CONSOLE_SESSION_MAX_HOURS * 3_600_000 },
    apiKeyRequestsPerMinute: values.API_KEY_REQUESTS_PER_MINUTE,
    statsStatementTimeoutMs: values.STATS_STATEMENT_TIMEOUT_MS,
    databaseUrl: values.DATABASE_URL,
    logLevel: values.LOG_LEVEL,
  };
}

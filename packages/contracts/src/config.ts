import { isIP } from 'node:net';
import { z } from 'zod';
import { isAddressOrHostName } from './host-name';
import { CLUSTER_PREFIX_RULE, DEFAULT_QUEUE_PREFIX, hasHashTag, isValidQueuePrefix } from './queues';
import { isClusterUrl, parseClusterUrl } from './redis-url';

/*
 * Every app reads its settings from environment variables through one zod object, so a
 * misconfigured deployment fails at start-up with ALL of its mistakes listed at once,
 * instead of one per restart.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  /** The environment variable at fault. */
  readonly variable: string;
  /** What is wrong with it, including what was given. */
  readonly message: string;
}

/** Its message has one line per bad variable: `NAME: what is wrong (got "value")`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map((problem) => `${problem.variable}: ${problem.message}`).join('\n'));
  }
}

/** Passwords in connection URLs must not end up in start-up logs. */
function displayValue(value: string): string {
  return JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@'));
}

/**
 * Validates the variables named by `schema`'s keys. An empty variable counts as unset
 * (`FOO=` in a compose file or a shell usually means "not configured"), so defaults apply.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.output<S> {
  const values: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema.shape)) {
    values[name] = env[name] === '' ? undefined : env[name];
  }
  const result = schema.safeParse(values);
  if (result.success) return result.data;

  const messagesByVariable = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    const variable = String(issue.path[0] ?? '(environment)');
    const unset = values[variable] === undefined && issue.code === 'invalid_type';
    const messages = messagesByVariable.get(variable) ?? [];
    messages.push(unset ? 'required' : issue.message);
    messagesByVariable.set(variable, messages);
  }
  throw new ConfigError(
    [...messagesByVariable].map(([variable, messages]) => {
      const value = values[variable];
      const got = value === undefined ? 'not set' : `got ${displayValue(value)}`;
      return { variable, message: `${messages.join('; ')} (${got})` };
    }),
  );
}

// ---- field builders ------------------------------------------------------------------

/**
 * A variable that is converted from text; `convert` returns undefined when the text is not
 * `expected`, or throws a RangeError saying what exactly is wrong with it. Defaults are checked
 * here, so a bad default fails where it is written.
 */
function envField<T>(expected: string, convert: (raw: string) => T | undefined, defaultValue: T) {
  if (convert(String(defaultValue)) === undefined) {
    throw new RangeError(`default ${JSON.stringify(defaultValue)} is not ${expected}`);
  }
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined) return defaultValue;
      let value: T | undefined;
      let detail = '';
      try {
        value = convert(raw);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        detail = `: ${error.message}`;
      }
      if (value === undefined) {
        ctx.issues.push({ code: 'custom', message: `must be ${expected}${detail}`, input: raw });
        return z.NEVER;
      }
      return value;
    });
}

function integerIn(min: number, max: number): (raw: string) => number | undefined {
  return (raw) => {
    const text = raw.trim();
    if (!/^[0-9]+$/.test(text)) return undefined;
    const value = Number(text);
    return value >= min && value <= max ? value : undefined;
  };
}

function urlWithProtocol(protocols: readonly string[]): (raw: string) => string | undefined {
  return (raw) => {
    const text = raw.trim();
    try {
      return protocols.includes(new URL(text).protocol) ? text : undefined;
    } catch {
      return undefined;
    }
  };
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/mailbeacon';
export const DEFAULT_LOG_LEVEL = 'info';
/** pino's levels; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * One Redis server (`redis://`, `rediss://` over TLS) or a Redis Cluster by its seed nodes
 * (`redis-cluster://host:port,host:port,…`, `rediss-cluster://` over TLS; see parseClusterUrl).
 */
export function redisUrl(defaultUrl: string = DEFAULT_REDIS_URL) {
  const server = urlWithProtocol(['redis:', 'rediss:']);
  return envField(
    'a redis://, rediss://, redis-cluster:// or rediss-cluster:// URL',
    (raw) => {
      if (!isClusterUrl(raw)) return server(raw);
      parseClusterUrl(raw);
      return raw.trim();
    },
    defaultUrl,
  );
}

/** The host may be empty, as in `postgres:///mailbeacon?host=/var/run/postgresql` (Unix socket). */
export function databaseUrl(defaultUrl: string = DEFAULT_DATABASE_URL) {
  return envField('a postgres:// or postgresql:// URL', urlWithProtocol(['postgres:', 'postgresql:']), defaultUrl);
}

export function port(defaultPort: number) {
  return envField('an integer from 1 to 65535', integerIn(1, 65535), defaultPort);
}

/** A port that may be `0`, which turns the listener off (e.g. an optional metrics server). */
export function portOrOff(defaultPort: number) {
  return envField('an integer from 0 (off) to 65535', integerIn(0, 65535), defaultPort);
}

/** An interface to listen on: an IP address (0.0.0.0 or :: for all) or a host name. */
export function listenHost(defaultHost: string) {
  return envField('an IP address or a host name', (raw) => {
    const text = raw.trim();
    return isAddressOrHostName(text) ? text : undefined;
  }, defaultHost);
}

export function positiveInt(defaultValue: number) {
  return envField('a positive integer', integerIn(1, Number.MAX_SAFE_INTEGER), defaultValue);
}

export function nonNegativeInt(defaultValue: number) {
  return envField('a whole number ≥ 0', integerIn(0, Number.MAX_SAFE_INTEGER), defaultValue);
}

/** A queue name: BullMQ joins it into Redis keys with ':', so it keeps to a plain alphabet. */
export function queueName(defaultName: string) {
  return envField(
    '1-100 of A-Z a-z 0-9 _ . -',
    (raw) => (/^[A-Za-z0-9_.-]{1,100}$/.test(raw) ? raw : undefined),
    defaultName,
  );
}

/** A Map, not an object literal, so `constructor` or `__proto__` are not booleans. */
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true], ['1', true], ['yes', true],
  ['false', false], ['0', false], ['no', false],
]);

export function boolean(defaultValue: boolean) {
  return envField(
    'one of true, false, 1, 0, yes, no',
    (raw) => BOOLEAN_WORDS.get(raw.trim().toLowerCase()),
    defaultValue,
  );
}

/** A BullMQ prefix: `:` separates its key parts, so it may not appear; `{mb}` (a cluster hash tag) is fine. */
export function queuePrefix(defaultPrefix: string = DEFAULT_QUEUE_PREFIX) {
  return envField(
    "a key prefix without ':' (e.g. mailbeacon, or {mb} for Redis Cluster)",
    (raw) => (isValidQueuePrefix(raw) ? raw : undefined),
    defaultPrefix,
  );
}

export function logLevel(defaultLevel: LogLevel = DEFAULT_LOG_LEVEL) {
  return envField(
    `one of ${LOG_LEVELS.join(', ')}`,
    (raw): LogLevel | undefined => LOG_LEVELS.find((level) => level === raw.trim().toLowerCase()),
    defaultLevel,
  );
}

/**
 * On Redis Cluster, BullMQ needs every key of a queue in one slot: the queue prefix must hold a
 * hash tag (`{mb}`). For the loaded settings of an app that uses both; returns them, or throws a
 * ConfigError naming QUEUE_PREFIX.
 */
export function checkClusterQueuePrefix<T extends { readonly REDIS_URL: string; readonly QUEUE_PREFIX: string }>(config: T): T {
  if (isClusterUrl(config.REDIS_URL) && !hasHashTag(config.QUEUE_PREFIX)) {
    throw new ConfigError([
      {
        variable: 'QUEUE_PREFIX',
        message: `${CLUSTER_PREFIX_RULE} (REDIS_URL is a Redis Cluster; got ${JSON.stringify(config.QUEUE_PREFIX)})`,
      },
    ]);
  }
  return config;
}

/**
 * Runs several configuration loaders and reports the problems of all of them in one
 * ConfigError, so an operator fixes every variable in one go.
 */
export function loadConfigs<T extends unknown[]>(...loaders: { [K in keyof T]: () => T[K] }): T {
  const problems: ConfigProblem[] = [];
  const results = (loaders as Array<() => unknown>).map((load) => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return results as T;
}

/** Express `trust proxy`: false (use the socket's address), or the addresses/ranges whose X-Forwarded-For (and -Proto) is believed. */
export type TrustProxy = false | readonly string[];

/** proxy-addr's named ranges. */
const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One trust-proxy entry: a named range, an address, or address/prefix-length. */
function isTrustEntry(entry: string): boolean {
  if (TRUST_NAMES.has(entry)) return true;
  if (entry.includes('%')) return false; // zone ids: proxy-addr cannot match them
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return false;
  if (slash === -1) return true;
  const bits = entry.slice(slash + 1);
  return /^(0|[1-9][0-9]{0,2})$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

const TRUST_PROXY_EXPECTED = 'false, or a comma-separated list of addresses, CIDR ranges and the names loopback, linklocal, uniquelocal';

/** Which proxies' X-Forwarded-* headers an app believes (the tracker's TRUST_PROXY, the admin's ADMIN_TRUST_PROXY). */
export function trustProxy(defaultValue: TrustProxy) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): TrustProxy => {
      if (raw === undefined) return defaultValue === false ? false : [...defaultValue];
      const text = raw.trim();
      if (text.toLowerCase() === 'false') return false;
      if (text.toLowerCase() === 'true') {
        ctx.issues.push({ code: 'custom', input: raw, message: `must not be true: every client could then choose its address with X-Forwarded-For; give ${TRUST_PROXY_EXPECTED}` });
        return z.NEVER;
      }
      const entries = text.split(',').map((entry) => entry.trim());
      const bad = entries.filter((entry) => !isTrustEntry(entry));
      if (bad.length > 0) {
        ctx.issues.push({ code: 'custom', input: raw, message: `must be ${TRUST_PROXY_EXPECTED} (not understood: ${bad.map((entry) => JSON.stringify(entry)).join(', ')})` });
        return z.NEVER;
      }
      return entries;
    });
}

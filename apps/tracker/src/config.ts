import { isIP } from 'node:net';
import { resolve } from 'node:path';
import {
  checkClusterQueuePrefix,
  listenHost,
  loadConfig,
  loadConfigs,
  logLevel,
  port,
  queuePrefix,
  QUEUE_NAMES,
  queueName,
  redisUrl,
  signingKeysFromEnv,
  type Env,
  type LogLevel,
  type SigningKeys,
} from '@mailbeacon/contracts';
import { z } from 'zod';
import { IP_STORAGE_POLICIES, type IpStorage } from './client-address';

export const DEFAULT_TRACKER_PORT = 8080;
/**
 * Loopback only, like the admin API: the operator's proxy (nginx on the same machine) is the
 * tracker's only legitimate client, and /metrics must not be reachable from the internet.
 * When the proxy runs elsewhere (another container, a load balancer) set TRACKER_HOST=0.0.0.0
 * (or ::) and TRUST_PROXY to the proxy's addresses.
 */
export const DEFAULT_TRACKER_HOST = '127.0.0.1';
/** The header the operator's proxy adds (value `1`) to requests for a tracking host, as Postal's proxies do. */
export const DEFAULT_TRACK_HOST_HEADER = 'X-Postal-Track-Host';
/** Express `trust proxy` names: 127.0.0.0/8 and ::1, i.e. a proxy on the same machine. */
export const DEFAULT_TRUST_PROXY = ['loopback'] as const;
export const DEFAULT_IP_STORAGE: IpStorage = 'truncated';
/**
 * Where events are kept on disk while Redis is unreachable, resolved against the working
 * directory at start-up (`npm start` from the repository root: `<repo>/var/spool`). In a
 * container or under systemd point it at a persistent volume (e.g. /var/spool/mailbeacon).
 */
export const DEFAULT_SPOOL_DIR = 'var/spool';

/** Express `trust proxy`: false (use the socket's address), or the addresses/ranges whose X-Forwarded-For is believed. */
export type TrustProxy = false | readonly string[];

/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** proxy-addr's named ranges. */
const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One TRUST_PROXY entry: a named range, an address, or address/prefix-length. */
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

const TRUST_PROXY_EXPECTED =
  'false, or a comma-separated list of addresses, CIDR ranges and the names loopback, linklocal, uniquelocal';

const trustProxy = z
  .string()
  .optional()
  .transform((raw, ctx): TrustProxy => {
    if (raw === undefined) return [...DEFAULT_TRUST_PROXY];
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

const schema = z.object({
  TRACKER_PORT: port(DEFAULT_TRACKER_PORT),
  TRACKER_HOST: listenHost(DEFAULT_TRACKER_HOST),
  TRACK_HOST_HEADER: z.string().trim().regex(HEADER_NAME, 'must be an HTTP header name such as X-Postal-Track-Host').default(DEFAULT_TRACK_HOST_HEADER),
  TRUST_PROXY: trustProxy,
  IP_STORAGE: z
    .string()
    .trim()
    .toLowerCase()
    .default(DEFAULT_IP_STORAGE)
    .pipe(z.enum(IP_STORAGE_POLICIES, `must be one of ${IP_STORAGE_POLICIES.join(', ')}`)),
  REDIS_URL: redisUrl(),
  QUEUE_PREFIX: queuePrefix(),
  QUEUE_TRACKING_EVENTS: queueName(QUEUE_NAMES.trackingEvents),
  SPOOL_DIR: z.string().trim().min(1, 'must be a directory path').default(DEFAULT_SPOOL_DIR),
  LOG_LEVEL: logLevel(),
});

export interface TrackerConfig {
  port: number;
  host: string;
  /** The header (value `1`) that marks a request as one for a tracking host, as configured (any case). */
  trackHostHeader: string;
  trustProxy: TrustProxy;
  ipStorage: IpStorage;
  redisUrl: string;
  queuePrefix: string;
  trackingEventsQueue: string;
  /** Absolute. */
  spoolDir: string;
  logLevel: LogLevel;
  /** Verifies tracking URLs (MAILBEACON_SECRET or the key file, MAILBEACON_PREVIOUS_SECRETS); the process logs where they came from. */
  signing: SigningKeys;
}

/** Reads the tracker's settings; a ConfigError lists every bad variable at once (signing secrets included). */
export function loadTrackerConfig(env: Env = process.env): TrackerConfig {
  const [values, signing] = loadConfigs(
    () => checkClusterQueuePrefix(loadConfig(schema, env)),
    () => signingKeysFromEnv(env),
  );
  return {
    port: values.TRACKER_PORT,
    host: values.TRACKER_HOST,
    trackHostHeader: values.TRACK_HOST_HEADER,
    trustProxy: values.TRUST_PROXY,
    ipStorage: values.IP_STORAGE,
    redisUrl: values.REDIS_URL,
    queuePrefix: values.QUEUE_PREFIX,
    trackingEventsQueue: values.QUEUE_TRACKING_EVENTS,
    spoolDir: resolve(values.SPOOL_DIR),
    logLevel: values.LOG_LEVEL,
    signing,
  };
}

import { resolve } from 'node:path';
import {
  checkClusterQueuePrefix,
  trustProxy,
  type TrustProxy,
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


/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export type { TrustProxy };

const schema = z.object({
  TRACKER_PORT: port(DEFAULT_TRACKER_PORT),
  TRACKER_HOST: listenHost(DEFAULT_TRACKER_HOST),
  TRACK_HOST_HEADER: z.string().trim().regex(HEADER_NAME, 'must be an HTTP header name such as X-Postal-Track-Host').default(DEFAULT_TRACK_HOST_HEADER),
  TRUST_PROXY: trustProxy(DEFAULT_TRUST_PROXY),
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

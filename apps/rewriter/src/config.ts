import { availableParallelism } from 'node:os';
import { QUEUE_NAMES, checkClusterQueuePrefix, listenHost, loadConfigs, nonNegativeInt, portOrOff, queueName, signingKeysFromEnv, boolean, databaseUrl, loadConfig, logLevel, positiveInt, queuePrefix, redisUrl, type Env, type SigningKeys } from '@mailbeacon/contracts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@mailbeacon/rewrite';
import { z } from 'zod';

export const DEFAULT_REWRITER_METRICS_PORT = 8082;
export const DEFAULT_METRICS_HOST = '127.0.0.1';

const schema = z.object({
  REDIS_URL: redisUrl(),
  DATABASE_URL: databaseUrl(),
  QUEUE_PREFIX: queuePrefix(),
  QUEUE_OUTBOUND_MESSAGES: queueName(QUEUE_NAMES.outboundMessages),
  QUEUE_OUTBOUND_READY: queueName(QUEUE_NAMES.outboundReady),
  QUEUE_TRACKING_EVENTS: queueName(QUEUE_NAMES.trackingEvents),
  /** Jobs in flight at once. */
  REWRITER_CONCURRENCY: positiveInt(8),
  /** Threads that rewrite (CPU work off the event loop, so job locks keep being renewed); 0 rewrites in the main thread. */
  REWRITER_THREADS: nonNegativeInt(Math.max(1, availableParallelism() - 1)),
  /** How often tracking-domain settings are reloaded besides the change notifications (the safety net for a lost one). */
  DOMAIN_REFRESH_MS: positiveInt(5000),
  MAX_MESSAGE_BYTES: positiveInt(DEFAULT_MAX_MESSAGE_BYTES),
  /** Track messages that already carry a DKIM-Signature (only when the platform signs again afterwards). */
  SIGNS_AFTER_TRACKING: boolean(false),
  /** BullMQ job lock: a worker that dies loses its jobs to another after this long. */
  LOCK_DURATION_MS: positiveInt(30000),
  STALLED_INTERVAL_MS: positiveInt(30000),
  /** How often a job may stall (its worker died) before it is failed for inspection. */
  MAX_STALLED_COUNT: positiveInt(5),
  /** The operations server (/healthz, /readyz, /metrics); 0 turns it off. */
  REWRITER_METRICS_PORT: portOrOff(DEFAULT_REWRITER_METRICS_PORT),
  /** Its interface: loopback by default, /metrics is not authenticated. */
  METRICS_HOST: listenHost(DEFAULT_METRICS_HOST),
  LOG_LEVEL: logLevel(),
});

export type RewriterConfig = z.output<typeof schema> & { signing: SigningKeys };

export function loadRewriterConfig(env: Env = process.env): RewriterConfig {
  // The secrets are read and checked now, once, so a bad one is a configuration error (exit 78),
  // reported with the rest; the rewrite threads get the very secrets read here.
  const [config, signing] = loadConfigs(
    () => checkClusterQueuePrefix(loadConfig(schema, env)),
    () => signingKeysFromEnv(env),
  );
  return { ...config, signing };
}

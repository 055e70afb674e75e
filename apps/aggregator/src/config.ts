import {
  checkClusterQueuePrefix,
  ConfigError,
  databaseUrl,
  listenHost,
  loadConfig,
  loadConfigs,
  logLevel,
  nonNegativeInt,
  portOrOff,
  positiveInt,
  queueName,
  queuePrefix,
  QUEUE_NAMES,
  redisUrl,
  type Env,
} from '@mailbeacon/contracts';
import { z } from 'zod';

export const DEFAULT_AGGREGATOR_METRICS_PORT = 8083;
export const DEFAULT_METRICS_HOST = '127.0.0.1';

const schema = z.object({
  REDIS_URL: redisUrl(),
  DATABASE_URL: databaseUrl(),
  QUEUE_PREFIX: queuePrefix(),
  QUEUE_TRACKING_EVENTS: queueName(QUEUE_NAMES.trackingEvents),
  /** Events per transaction. */
  AGGREGATOR_BATCH_SIZE: positiveInt(1000),
  /** Batches written at once: one is prepared while PostgreSQL works on another. */
  AGGREGATOR_WRITERS: positiveInt(2),
  /** A batch is written this long after its first event at the latest. */
  AGGREGATOR_BATCH_WAIT_MS: positiveInt(200),
  /** Raw opens and clicks are kept this many days (whole UTC days before today); 0 keeps them forever. */
  RETENTION_DAYS: nonNegativeInt(90),
  /** How often old partitions are dropped and new ones made ahead. */
  RETENTION_INTERVAL_MS: positiveInt(3_600_000),
  /** A click sooner than this after the message was sent is a scanner's. */
  EARLY_CLICK_MS: nonNegativeInt(2000),
  /** Distinct links of one message clicked from one IP within this window… */
  BURST_WINDOW_MS: nonNegativeInt(2000),
  /** …this many or more, make a scanner's burst. */
  BURST_MIN_LINKS: positiveInt(3),
  /** BullMQ job lock: a worker that dies loses its jobs to another after this long. */
  LOCK_DURATION_MS: positiveInt(30_000),
  STALLED_INTERVAL_MS: positiveInt(30_000),
  /** Events are idempotent, so a job may stall (its worker killed) often before it is set aside. */
  MAX_STALLED_COUNT: positiveInt(20),
  /** On SIGTERM, how long to wait for the batches in hand before returning their jobs to the queue. */
  SHUTDOWN_TIMEOUT_MS: positiveInt(15_000),
  /** The operations server (/healthz, /readyz, /metrics); 0 turns it off. */
  AGGREGATOR_METRICS_PORT: portOrOff(DEFAULT_AGGREGATOR_METRICS_PORT),
  /** Its interface: loopback by default, /metrics is not authenticated. */
  METRICS_HOST: listenHost(DEFAULT_METRICS_HOST),
  LOG_LEVEL: logLevel(),
});

export type AggregatorConfig = z.output<typeof schema>;

export function loadAggregatorConfig(env: Env = process.env): AggregatorConfig {
  const config = loadConfig(schema, env);
  loadConfigs(
    () => checkClusterQueuePrefix(config),
    () => {
      // Jobs wait in the batch holding their lock: the window must stay far below the lock time.
      if (config.AGGREGATOR_BATCH_WAIT_MS * 10 > config.LOCK_DURATION_MS) {
        throw new ConfigError([
          {
            variable: 'AGGREGATOR_BATCH_WAIT_MS',
            message: `must be at most a tenth of LOCK_DURATION_MS (${config.LOCK_DURATION_MS}), got ${config.AGGREGATOR_BATCH_WAIT_MS}`,
          },
        ]);
      }
    },
  );
  return config;
}

import { CLUSTER_PREFIX_RULE, DEFAULT_QUEUE_PREFIX, hasHashTag, QUEUE_NAMES } from '@mailbeacon/contracts';
import { connectRedis, isClusterUrl, type RedisConnection } from '@mailbeacon/redis-connection';
import type { RedisOptions } from 'ioredis';

export interface QueueSettings {
  /**
   * A Redis URL (`redis://`, `rediss://`, or a cluster's seeds: `redis-cluster://host:port,host:port`,
   * `rediss-cluster://…`), or an ioredis connection to share, Redis or Cluster (BullMQ needs
   * `maxRetriesPerRequest: null`, on a Cluster in its `redisOptions`).
   */
  connection: string | RedisConnection;
  /** One prefix for all queues; on Redis Cluster a hash tag such as `{mb}` (required there). Default `mailbeacon`. */
  prefix?: string;
  /** Queue names, when the operator changed them. */
  queues?: Partial<typeof QUEUE_NAMES>;
}

export interface ResolvedQueueSettings {
  connection: RedisConnection;
  ownsConnection: boolean;
  prefix: string;
  queues: typeof QUEUE_NAMES;
}

const BULLMQ_REDIS: RedisOptions = { maxRetriesPerRequest: null };

export function resolveQueueSettings(settings: QueueSettings): ResolvedQueueSettings {
  const prefix = settings.prefix ?? DEFAULT_QUEUE_PREFIX;
  const cluster = typeof settings.connection === 'string' ? isClusterUrl(settings.connection) : settings.connection.isCluster;
  if (cluster && !hasHashTag(prefix)) throw new RangeError(`prefix ${CLUSTER_PREFIX_RULE}, got ${JSON.stringify(prefix)}`);
  const owns = typeof settings.connection === 'string';
  return {
    connection: typeof settings.connection === 'string' ? connectRedis(settings.connection, BULLMQ_REDIS) : settings.connection,
    ownsConnection: owns,
    prefix,
    queues: { ...QUEUE_NAMES, ...settings.queues },
  };
}

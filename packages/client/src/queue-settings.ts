import { DEFAULT_QUEUE_PREFIX, QUEUE_NAMES } from '@mailbeacon/contracts';
import { Redis, type RedisOptions } from 'ioredis';

export interface QueueSettings {
  /** A Redis URL or an ioredis connection to share (BullMQ needs `maxRetriesPerRequest: null`). */
  connection: string | Redis;
  /** One prefix for all queues; use a hash tag such as `{mb}` on Redis Cluster. Default `mailbeacon`. */
  prefix?: string;
  /** Queue names, when the operator changed them. */
  queues?: Partial<typeof QUEUE_NAMES>;
}

export interface ResolvedQueueSettings {
  connection: Redis;
  ownsConnection: boolean;
  prefix: string;
  queues: typeof QUEUE_NAMES;
}

const BULLMQ_REDIS: RedisOptions = { maxRetriesPerRequest: null };

export function resolveQueueSettings(settings: QueueSettings): ResolvedQueueSettings {
  const owns = typeof settings.connection === 'string';
  return {
    connection: typeof settings.connection === 'string' ? new Redis(settings.connection, BULLMQ_REDIS) : settings.connection,
    ownsConnection: owns,
    prefix: settings.prefix ?? DEFAULT_QUEUE_PREFIX,
    queues: { ...QUEUE_NAMES, ...settings.queues },
  };
}

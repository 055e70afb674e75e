import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A BullMQ prefix no other test uses, and a way to delete everything under it. */
export function uniquePrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `mbtest-${randomBytes(5).toString('hex')}`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
      await redis.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          if (keys.length) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

export { connectRedis, clusterOptionsFor, isClusterUrl } from './connect-redis';
export type { RedisConnection } from './connect-redis';
export { probeRedis, waitUntilReachable, redactRedisUrl, RedisUnreachableError, START_REDIS_HINT } from './redis-reachability';
export type { WaitUntilReachableOptions } from './redis-reachability';
export { RedisHealth, isRedisConnectionError } from './redis-health';
export type { RedisHealthOptions, HealthLogger } from './redis-health';

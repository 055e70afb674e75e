export { connectRedis, clusterOptionsFor, isClusterUrl } from './connect-redis';
export type { RedisConnection } from './connect-redis';

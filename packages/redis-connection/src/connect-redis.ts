import { isClusterUrl, parseClusterUrl } from '@mailbeacon/contracts';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export { isClusterUrl };

/** What REDIS_URL opens: one server or a cluster. BullMQ takes either as its `connection`. */
export type RedisConnection = Redis | Cluster;

/**
 * The Cluster options for a `redis-cluster://` / `rediss-cluster://` URL and the options a
 * caller would give a single-server connection. ioredis splits them in two levels:
 *
 * - on the cluster: `lazyConnect`, `enableOfflineQueue` (a command while the cluster is not
 *   ready fails at once when false), and `retryStrategy`, which becomes `clusterRetryStrategy`
 *   (how soon to reconnect once no node can be reached; `() => null` gives up);
 * - for each node (`redisOptions`): everything else, `maxRetriesPerRequest: null` for BullMQ
 *   included (BullMQ reads it there), plus the user, password and TLS of the URL. Nodes never
 *   reconnect on their own: the cluster finds a lost master's replacement by its slot map.
 */
export function clusterOptionsFor(url: string, options: RedisOptions = {}): { seeds: { host: string; port: number }[]; options: ClusterOptions } {
  const { seeds, username, password, tls } = parseClusterUrl(url);
  const { lazyConnect, enableOfflineQueue, retryStrategy, ...nodeOptions } = options;
  return {
    seeds,
    options: {
      ...(lazyConnect !== undefined && { lazyConnect }),
      ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
      ...(retryStrategy !== undefined && { clusterRetryStrategy: retryStrategy }),
      redisOptions: {
        ...nodeOptions,
        ...(username !== undefined && { username }),
        ...(password !== undefined && { password }),
        ...(tls && { tls: { ...nodeOptions.tls } }),
      },
    },
  };
}

/**
 * Opens REDIS_URL: `new Redis(url, options)` for `redis://` and `rediss://`, a Cluster for
 * `redis-cluster://host:port,host:port,…` and `rediss-cluster://…` (see clusterOptionsFor for
 * where `options` go). Either way `status === 'ready'` means connected, and `quit()` /
 * `disconnect()` close it.
 */
export function connectRedis(url: string, options: RedisOptions = {}): RedisConnection {
  if (!isClusterUrl(url)) return new Redis(url, options);
  const cluster = clusterOptionsFor(url, options);
  return new Cluster(cluster.seeds, cluster.options);
}

import { isIP } from 'node:net';
import { isAddressOrHostName } from './host-name';

/*
 * REDIS_URL names one Redis server (`redis://`, `rediss://` for TLS, as ioredis reads them) or a
 * Redis Cluster by a few of its nodes: `redis-cluster://host1:6379,host2:6379`
 * (`rediss-cluster://` for TLS). The cluster form is ours: URL parsers do not take a host list.
 */

const CLUSTER_PROTOCOLS = ['redis-cluster:', 'rediss-cluster:'] as const;
const DEFAULT_PORT = 6379;

/** A node to ask for the cluster's layout; the client learns the others from it. */
export interface RedisSeed {
  host: string;
  port: number;
}

/** What a `redis-cluster://` or `rediss-cluster://` URL says. */
export interface RedisClusterUrl {
  seeds: RedisSeed[];
  /** ACL user (Redis 6+); undefined: the default user. */
  username: string | undefined;
  password: string | undefined;
  /** `rediss-cluster://`: every node is reached over TLS. */
  tls: boolean;
}

/** True for `redis-cluster://…` and `rediss-cluster://…` (valid or not: see parseClusterUrl). */
export function isClusterUrl(url: string): boolean {
  const scheme = /^\s*([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1].toLowerCase();
  return (CLUSTER_PROTOCOLS as readonly string[]).includes(scheme ?? '');
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RangeError(`the ${what} is not correctly percent-encoded`);
  }
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`. */
function parseSeed(text: string): RedisSeed {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::([^:]*))?$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const valid = match?.[1] !== undefined ? isIP(host!) === 6 : host !== undefined && isAddressOrHostName(host);
  if (!valid) throw new RangeError(`seed ${JSON.stringify(text)}: expected host:port`);
  const portText = match![3];
  if (portText === undefined) return { host: host!, port: DEFAULT_PORT };
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : 0;
  if (port < 1 || port > 65535) throw new RangeError(`seed ${JSON.stringify(text)}: the port must be 1 to 65535`);
  return { host: host!, port };
}

/**
 * Reads `redis-cluster://[user:password@]host:port,host:port,...[/]` (or `rediss-cluster://`);
 * throws a RangeError saying what is wrong. The port defaults to 6379; a cluster has only
 * database 0, so no other may be named.
 */
export function parseClusterUrl(url: string): RedisClusterUrl {
  const match = /^([a-z-]+):\/\/(?:([^/?#]*)@)?([^@/?#]*)(\/[^?#]*)?([?#].*)?$/i.exec(url.trim());
  const protocol = `${match?.[1]?.toLowerCase()}:`;
  if (!match || !(CLUSTER_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new RangeError('expected redis-cluster://host:port,host:port,… or rediss-cluster://…');
  }
  const [, , userInfo, hosts, path, rest] = match;
  if (path !== undefined && path !== '/' && path !== '/0') throw new RangeError('a Redis Cluster has only database 0');
  if (rest !== undefined) throw new RangeError('options after the seed list (?…) are not supported');
  const seeds = hosts.split(',').map((seed) => seed.trim());
  if (seeds.length === 1 && seeds[0] === '') throw new RangeError('no seed node (host:port) given');
  const colon = userInfo?.indexOf(':') ?? -1;
  const username = userInfo === undefined ? '' : decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user name');
  const password = colon === -1 ? '' : decode(userInfo!.slice(colon + 1), 'password');
  return {
    seeds: seeds.map(parseSeed),
    username: username || undefined,
    password: password || undefined,
    tls: protocol === 'rediss-cluster:',
  };
}

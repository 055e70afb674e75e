import { connectRedis, type RedisConnection } from '@mailbeacon/redis-connection';
import { describeError, StartupError } from './run-service';
import type { RedisOptions } from 'ioredis';

/** REDIS_URL with its password hidden, for messages and logs (the cluster form too). */
export function redactRedisUrl(url: string): string {
  return url.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@');
}

/** What a person does about it; `npm start` prints its own, longer version. */
export const START_REDIS_HINT = 'start it (docker compose up -d redis, or redis-server --daemonize yes) or point REDIS_URL at yours';

/** Redis could not be reached at start-up: one line saying where, what happened and what to do. */
export class RedisUnreachableError extends StartupError {
  constructor(
    /** REDIS_URL, password hidden. */
    readonly where: string,
    /** What happened, e.g. `connect ECONNREFUSED 127.0.0.1:6379`. */
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${where}: ${reason}; ${START_REDIS_HINT}`);
  }
}

/**
 * ioredis answers a failed connect() or a command on a dead connection with a bare
 * "Connection is closed." and reports the real cause (ECONNREFUSED, a DNS failure, a TLS error)
 * only as an `error` event: keep the latter, which says what happened.
 */
export function isBareConnectionClosed(error: unknown): boolean {
  return /^Connection is closed\.?$/.test(describeError(error));
}

export interface WaitUntilReachableOptions {
  /** Giving up after this long without an answer (default 10 s). */
  timeoutMs?: number;
  /** The process is stopping: give up at once. */
  signal?: AbortSignal;
}

/**
 * Resolves once `connection` is ready; rejects with RedisUnreachableError at its first failure
 * (not after retrying forever, as BullMQ's connections would), or after `timeoutMs`, or with
 * the signal's reason when the process is told to stop meanwhile.
 */
export function waitUntilReachable(connection: RedisConnection, url: string, options: WaitUntilReachableOptions = {}): Promise<void> {
  const { timeoutMs = 10_000, signal } = options;
  if (connection.status === 'ready') return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    let cause: string | undefined;
    const settle = (error?: unknown) => {
      clearTimeout(timer);
      connection.off('ready', onReady).off('error', onError).off('end', onEnd).off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const fail = (reason: string) => settle(new RedisUnreachableError(redactRedisUrl(url), reason));
    const onReady = () => settle();
    const onError = (error: unknown) => {
      if (!isBareConnectionClosed(error) || cause === undefined) cause = describeError(error);
      // A refused or failed connection is the answer; a Cluster reports its seeds' failures the same way.
      fail(cause);
    };
    const onClose = () => {
      // Closed without an error (Redis shut down while we connected): the error, if any, comes first.
      if (connection.status !== 'ready') fail(cause ?? 'Redis closed the connection');
    };
    const onEnd = () => fail(cause ?? 'the connection ended');
    const onAbort = () => settle(signal!.reason);
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    connection.on('ready', onReady).on('error', onError).on('end', onEnd).on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One attempt, no retry, no queueing: a start-up check answers at once. */
const PROBE_OPTIONS: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
  // Once the socket is gone, disconnect() would otherwise keep a 2 s timer alive.
  disconnectTimeout: 200,
};

/**
 * The Redis start-up check every process shares: one connection attempt to `url` (a single
 * server or a cluster), a PING, then `use` (e.g. the eviction-policy check) on that short-lived
 * connection, which is closed afterwards. Rejects with RedisUnreachableError saying the cause.
 */
export async function probeRedis<T = void>(
  url: string,
  options: WaitUntilReachableOptions = {},
  use: (redis: RedisConnection) => Promise<T> = async () => undefined as T,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const redis = connectRedis(url, { ...PROBE_OPTIONS, connectTimeout: timeoutMs });
  redis.on('error', () => {}); // waitUntilReachable reports it
  try {
    const reachable = waitUntilReachable(redis, url, options);
    redis.connect().catch(() => {}); // its rejection is the bare "Connection is closed."
    await reachable;
    await redis.ping().catch((error: unknown) => {
      throw new RedisUnreachableError(redactRedisUrl(url), describeError(error));
    });
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

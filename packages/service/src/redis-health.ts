import type { RedisConnection } from '@mailbeacon/redis-connection';
import { OutageLog } from './outage-log';
import { describeError } from './run-service';
import { withTimeout } from './with-timeout';
import { isBareConnectionClosed, redactRedisUrl } from './redis-reachability';

/** What RedisHealth writes to: a pino Logger fits (details first, as pino has it). */
export interface HealthLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface RedisHealthOptions {
  /** REDIS_URL (shown with its password hidden). */
  url: string;
  logger: HealthLogger;
  /** While Redis stays away, one reminder line this often (default 60 s). */
  reminderMs?: number;
  /** How long close() waits for a polite QUIT before dropping the connection (default 2 s). */
  quitTimeoutMs?: number;
}

/** A close is followed this soon by the reconnect attempt's error, which names the cause. */
const ANNOUNCE_DELAY_MS = 1000;

/** Socket-level failures: Redis away, not a bug. */
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** True for the errors a lost Redis produces (refused, reset, closed, timed out, retries exhausted). */
export function isRedisConnectionError(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: string; name?: string };
  if (code && CONNECTION_ERROR_CODES.has(code)) return true;
  if (name === 'MaxRetriesPerRequestError' || name === 'ConnectionClosedError') return true;
  return isBareConnectionClosed(error) || /^(connect ETIMEDOUT|Stream isn't writeable|Connection is closed)/.test(describeError(error));
}

/**
 * The one place a process's Redis connection trouble is logged, and how it stops without
 * waiting on a Redis that is gone.
 *
 * ioredis reconnects on its own (every ≤ 2 s, see connectRedis), and while it does, the
 * connection and every BullMQ object on it emit an error per attempt: hundreds of lines a
 * minute. Here an outage is one `warn` line when it starts (which Redis, what happened), a
 * reminder every `reminderMs` while it lasts, and one `info` line when Redis is back; the
 * errors in between are counted, not logged. BullMQ objects hand their `error` events to
 * errorListener(): connection errors join the outage, anything else is logged as an error.
 */
export class RedisHealth {
  readonly where: string;
  private readonly logger: HealthLogger;
  private readonly quitTimeoutMs: number;
  private readonly outage: OutageLog;
  private everReady: boolean;
  private announceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lostWaiters = new Set<() => void>();

  constructor(
    readonly connection: RedisConnection,
    options: RedisHealthOptions,
  ) {
    const where = redactRedisUrl(options.url);
    this.where = where;
    this.logger = options.logger;
    this.quitTimeoutMs = options.quitTimeoutMs ?? 2000;
    this.outage = new OutageLog({
      logger: options.logger,
      fields: { redis: where },
      reminderMs: options.reminderMs,
      unknownCause: 'Redis closed the connection',
      lost: (cause) => `lost Redis at ${where}: ${cause}; reconnecting quietly (every ≤ 2 s) until it is back`,
      stillLost: (seconds, cause) => `Redis at ${where} still unreachable after ${seconds} s: ${cause}`,
      back: (seconds) => `Redis at ${where} is back after ${seconds} s; resuming`,
    });
    this.everReady = connection.status === 'ready';
    connection.on('ready', () => this.noteReady());
    connection.on('error', (error: unknown) => this.noteFailure(error));
    // A clean close (Redis shut down) comes without an error.
    connection.on('close', () => this.noteFailure(undefined));
  }

  /** True while the connection is up. */
  get reachable(): boolean {
    return this.connection.status === 'ready' && !this.outage.down;
  }

  /** For a BullMQ Worker's or Queue's `error` event (`what` names it in the log). */
  errorListener(what: string): (error: unknown) => void {
    return (error) => {
      if (this.closed) return;
      if (isRedisConnectionError(error) || this.outage.down) this.noteFailure(error);
      else this.logger.error({ err: error, redis: this.where }, `${what} error`);
    };
  }

  /**
   * Resolves with `true` once `work` (e.g. a worker finishing its jobs) is done, or `false`
   * as soon as Redis is unreachable, or already is: work that needs Redis to finish must not
   * hold a stopping process forever. `work` is left to settle (or not) on its own.
   */
  unlessUnreachable(work: Promise<unknown>): Promise<boolean> {
    if (!this.reachable) {
      work.catch(() => {});
      return Promise.resolve(false);
    }
    let lost!: () => void;
    const unreachable = new Promise<boolean>((resolve) => {
      lost = () => resolve(false);
      this.lostWaiters.add(lost);
    });
    return Promise.race([work.then(() => true), unreachable]).finally(() => this.lostWaiters.delete(lost));
  }

  /** Stops reporting and closes the connection: QUIT if Redis is there (bounded), else at once. */
  async close(): Promise<void> {
    this.closed = true;
    this.outage.close();
    clearTimeout(this.announceTimer);
    const { connection } = this;
    if (connection.status === 'end') return;
    if (connection.status === 'ready') {
      try {
        await withTimeout(connection.quit(), this.quitTimeoutMs, `QUIT to Redis at ${this.where}`);
        return;
      } catch {
        // Not answered: dropped below.
      }
    }
    connection.disconnect();
  }

  private noteFailure(error: unknown): void {
    if (this.closed) return;
    // Before the first connection, start-up (waitUntilReachable) reports what went wrong.
    if (!this.everReady) return;
    // A bare "Connection is closed." says less than the cause already known.
    const says = error !== undefined && (!isBareConnectionClosed(error) || this.outage.cause === undefined);
    if (this.outage.failed(says ? describeError(error) : undefined)) {
      for (const lost of this.lostWaiters) lost();
    }
    // A close without an error is followed by the reconnect attempt's error, which says more
    // (ECONNREFUSED: Redis is not running): wait a moment for it.
    if (error === undefined) {
      this.announceTimer ??= setTimeout(() => this.announce(), ANNOUNCE_DELAY_MS).unref();
      return;
    }
    this.announce();
  }

  private announce(): void {
    clearTimeout(this.announceTimer);
    this.announceTimer = undefined;
    this.outage.announce();
  }

  private noteReady(): void {
    this.everReady = true;
    if (this.closed) return;
    this.outage.recovered();
    clearTimeout(this.announceTimer);
    this.announceTimer = undefined;
  }
}

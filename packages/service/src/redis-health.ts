import type { RedisConnection } from '@mailbeacon/redis-connection';
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
  private readonly reminderMs: number;
  private readonly quitTimeoutMs: number;
  private everReady: boolean;
  /** Since when Redis is unreachable (performance.now()), while it is. */
  private downSince: number | undefined;
  private cause: string | undefined;
  private failures = 0;
  private reminder: NodeJS.Timeout | undefined;
  /** Whether this outage has been logged (a blip shorter than ANNOUNCE_DELAY_MS is not). */
  private announced = false;
  private announceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lostWaiters = new Set<() => void>();

  constructor(
    readonly connection: RedisConnection,
    options: RedisHealthOptions,
  ) {
    this.where = redactRedisUrl(options.url);
    this.logger = options.logger;
    this.reminderMs = options.reminderMs ?? 60_000;
    this.quitTimeoutMs = options.quitTimeoutMs ?? 2000;
    this.everReady = connection.status === 'ready';
    connection.on('ready', () => this.noteReady());
    connection.on('error', (error: unknown) => this.noteFailure(error));
    // A clean close (Redis shut down) comes without an error.
    connection.on('close', () => this.noteFailure(undefined));
  }

  /** True while the connection is up. */
  get reachable(): boolean {
    return this.connection.status === 'ready' && this.downSince === undefined;
  }

  /** For a BullMQ Worker's or Queue's `error` event (`what` names it in the log). */
  errorListener(what: string): (error: unknown) => void {
    return (error) => {
      if (this.closed) return;
      if (isRedisConnectionError(error) || this.downSince !== undefined) this.noteFailure(error);
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
    clearInterval(this.reminder);
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
    if (error !== undefined && (!isBareConnectionClosed(error) || this.cause === undefined)) this.cause = describeError(error);
    // Before the first connection, start-up (waitUntilReachable) reports what went wrong.
    if (!this.everReady) return;
    this.failures += 1;
    if (this.downSince === undefined) {
      this.downSince = performance.now();
      for (const lost of this.lostWaiters) lost();
    }
    if (this.announced) return;
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
    if (this.announced || this.downSince === undefined || this.closed) return;
    this.announced = true;
    const cause = this.cause ?? 'Redis closed the connection';
    this.logger.warn({ redis: this.where, cause }, `lost Redis at ${this.where}: ${cause}; reconnecting quietly (every ≤ 2 s) until it is back`);
    this.reminder = setInterval(() => {
      const seconds = Math.round((performance.now() - this.downSince!) / 1000);
      this.logger.warn(
        { redis: this.where, cause: this.cause, downSeconds: seconds, failures: this.failures },
        `Redis at ${this.where} still unreachable after ${seconds} s: ${this.cause ?? 'Redis closed the connection'}`,
      );
    }, this.reminderMs);
    this.reminder.unref();
  }

  private noteReady(): void {
    this.everReady = true;
    if (this.downSince === undefined || this.closed) return;
    const seconds = Math.round((performance.now() - this.downSince) / 1000);
    if (this.announced) this.logger.info({ redis: this.where, downSeconds: seconds, failures: this.failures }, `Redis at ${this.where} is back after ${seconds} s; resuming`);
    clearInterval(this.reminder);
    clearTimeout(this.announceTimer);
    this.announceTimer = undefined;
    this.announced = false;
    this.downSince = undefined;
    this.cause = undefined;
    this.failures = 0;
  }
}

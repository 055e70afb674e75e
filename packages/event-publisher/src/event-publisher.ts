import { performance } from 'node:perf_hooks';
import { CLUSTER_PREFIX_RULE, DEFAULT_QUEUE_PREFIX, hasHashTag, isClusterUrl, isValidQueuePrefix, TRACKING_EVENT_JOB_OPTIONS, jobIdForEvent, parseTrackingEvent, QUEUE_NAMES, type TrackingEvent } from '@mailbeacon/contracts';
import { Queue, type JobsOptions } from 'bullmq';
import { connectRedis, type RedisConnection } from '@mailbeacon/redis-connection';
import { RedisHealth } from '@mailbeacon/service';
import type { RedisOptions } from 'ioredis';
import { EventSpool } from './event-spool';
import { consoleLogger, type Logger } from './logger';

/*
 * How the tracker records a click or an open without paying a Redis round trip per request, and
 * without losing it when Redis is away:
 *
 * - Group commit. publish() parks the event; events arriving together leave in one
 *   `addBulk` (one pipelined round trip) once `maxBatch` are waiting or `maxDelayMs` after the
 *   first. One batch is in flight at a time; what arrives meanwhile forms the next batch, so the
 *   batches grow with the load instead of the round trips.
 * - Bounded wait. The Redis connection fails fast (no offline queue, no retries), and an add
 *   that has not answered within `redisTimeoutMs` is given up: the batch is appended to the
 *   local spool (fsync'd) instead. Either way publish() resolves only once the event is stored.
 * - Order. While the spool holds anything, new batches are appended to it too, behind the
 *   older ones; the replayer empties it into the queue oldest first, and only then do batches
 *   go to Redis directly again.
 * - No duplicates. Job ids are the event ids, so an event added twice (a replay after a crash,
 *   an add that timed out but landed after all) is one job. Completed jobs are kept a day so
 *   this holds for a replay within a day; the aggregator must still treat the event id as the
 *   key of what it records.
 */

/** The Redis connection settings that make a dead Redis fail fast instead of queueing commands. */
export const FAIL_FAST_REDIS_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  // A command while disconnected fails at once instead of waiting in memory for a reconnect.
  enableOfflineQueue: false,
  // Commands in flight when the connection drops fail at the first disconnect...
  maxRetriesPerRequest: 0,
  // ...and are not re-sent on reconnect: their batch is already in the spool.
  autoResendUnfulfilledCommands: false,
  // Notice Redis's return within a second (the default backs off to 2 s and beyond).
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
  // disconnect() leaves a timer of this length behind when the socket is already gone (Redis
  // down); the 2 s default would keep a stopping process alive for nothing.
  disconnectTimeout: 200,
});

export interface EventPublisherOptions {
  /** REDIS_URL: `redis://`, `rediss://`, or `redis-cluster://`/`rediss-cluster://` seeds. The publisher opens its own connection (FAIL_FAST_REDIS_OPTIONS). */
  redisUrl: string;
  /** BullMQ key prefix, the rewriter's `QUEUE_PREFIX` (default `mailbeacon`). */
  prefix?: string;
  /** Default `tracking-events` (`QUEUE_TRACKING_EVENTS`). */
  queueName?: string;
  /** Directory of the spool; created if missing. Must survive restarts (a volume), one per process. */
  spoolDirectory: string;
  /** A batch leaves as soon as this many events wait (default 500). */
  maxBatch?: number;
  /** ...or this long after the first of them arrived (default 2 ms). */
  maxDelayMs?: number;
  /** An add slower than this is given up and the batch spooled (default 250 ms). */
  redisTimeoutMs?: number;
  /** How often the spool is replayed into the queue while it holds events (default 1000 ms; also at start and when Redis reconnects). */
  replayIntervalMs?: number;
  /** Events per add when replaying (default `maxBatch`). */
  replayBatch?: number;
  /** A replayed chunk slower than this counts as failed; the pass stops and retries later (default 5000 ms). Nobody waits on it. */
  replayTimeoutMs?: number;
  /** TCP connect timeout, and how long start() waits for a first connection before going on without (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Job options instead of the contracts' TRACKING_EVENT_JOB_OPTIONS (the job id is always the event's). */
  jobOptions?: Omit<JobsOptions, 'jobId'>;
  /** Default: the console. Pass the process's pino logger. */
  logger?: Logger;
  /** Called after every group commit, e.g. to feed a batch-size histogram. Must not throw. */
  onBatch?: (report: BatchReport) => void;
}

/** Where a batch ended up: the queue, the spool, or nowhere (its publish() calls rejected). */
export type BatchDestination = 'redis' | 'spool' | 'failed';

export interface BatchReport {
  /** Events in the batch. */
  size: number;
  destination: BatchDestination;
  /** From the start of the commit until the callers were answered. */
  durationMs: number;
}

/** Counters since start (monotonic) and current gauges, for metrics. */
export interface EventPublisherStats {
  /** Group commits made. */
  batches: number;
  /** Events in the last batch and in the largest so far. */
  lastBatchSize: number;
  largestBatchSize: number;
  /** Events added to the queue directly. */
  eventsToRedis: number;
  /** Events appended to the spool (Redis down, slow, or the spool not yet empty). */
  eventsSpooled: number;
  /** Events whose publish() rejected: neither Redis nor the spool took them. */
  eventsFailed: number;
  /** Direct adds that failed or timed out (their batch went to the spool). */
  redisFailures: number;
  /** Events added to the queue from the spool (a chunk re-sent after a failed pass counts again). */
  eventsReplayed: number;
  /** Replay passes that stopped on an error or timeout. */
  replayFailures: number;
  /** Events waiting in memory for the next commit (gauge). */
  pendingEvents: number;
  /** Spool file size in bytes (gauge). */
  spoolBytes: number;
  /** Events in the spool file (gauge). */
  spoolEvents: number;
  /** Spool lines set aside as unreadable, since start (see EventSpool). */
  spoolRejectedLines: number;
  /** Whether the Redis connection is up right now (gauge). */
  redisConnected: boolean;
}

interface PendingEvent {
  event: TrackingEvent;
  resolve(): void;
  reject(error: unknown): void;
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

type Counters = Omit<EventPublisherStats, 'pendingEvents' | 'spoolBytes' | 'spoolEvents' | 'spoolRejectedLines' | 'redisConnected'>;

/**
 * Puts tracking events on the `tracking-events` queue, batched, spooling them to disk when
 * Redis cannot take them. See the comment at the top of this file.
 *
 *   const publisher = new EventPublisher({ redisUrl, prefix, spoolDirectory: '/var/lib/mailbeacon/spool', logger });
 *   await publisher.start();                 // replays a spool left by a previous run
 *   await publisher.publish(event);          // stored (Redis or spool): now answer the request
 *   await publisher.close();                 // on SIGTERM, after the HTTP server stopped accepting
 */
export class EventPublisher {
  private readonly options: Required<Omit<EventPublisherOptions, 'onBatch' | 'jobOptions'>> & Pick<EventPublisherOptions, 'onBatch'>;
  private readonly jobOptions: Omit<JobsOptions, 'jobId'>;
  private readonly logger: Logger;

  private spool: EventSpool | undefined;
  private connection: RedisConnection | undefined;
  /** Reports the connection's outages (once each, with their cause) and closes it. */
  private health: RedisHealth | undefined;
  private queue: Queue | undefined;

  private pending: PendingEvent[] = [];
  /** Cancels the scheduled flush (a timer, or an immediate when maxDelayMs is 0). */
  private flushTimer: (() => void) | undefined;
  /** The batch being stored; at most one at a time. */
  private committing: Promise<void> | undefined;

  private replayTimer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  /** How far the spool has been added to the queue (bytes); reset when it is truncated. */
  private replayedUpTo = 0;

  /** draining: close() was called; events still accepted until the pending ones are stored. */
  private state: 'new' | 'starting' | 'running' | 'draining' | 'closed' = 'new';
  private started: Promise<void> | undefined;
  /** publish() takes events: from the end of start() until close() has drained. */
  private accepting = false;
  private closed: Promise<void> | undefined;
  /** Set on the first sign of trouble, so an outage is logged once, not once per batch. */
  private redisTrouble = false;

  private readonly counters: Counters = {
    batches: 0,
    lastBatchSize: 0,
    largestBatchSize: 0,
    eventsToRedis: 0,
    eventsSpooled: 0,
    eventsFailed: 0,
    redisFailures: 0,
    eventsReplayed: 0,
    replayFailures: 0,
  };

  constructor(options: EventPublisherOptions) {
    const maxBatch = options.maxBatch ?? 500;
    this.options = {
      redisUrl: options.redisUrl,
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
      queueName: options.queueName ?? QUEUE_NAMES.trackingEvents,
      spoolDirectory: options.spoolDirectory,
      maxBatch,
      maxDelayMs: options.maxDelayMs ?? 2,
      redisTimeoutMs: options.redisTimeoutMs ?? 250,
      replayIntervalMs: options.replayIntervalMs ?? 1000,
      replayBatch: options.replayBatch ?? maxBatch,
      replayTimeoutMs: options.replayTimeoutMs ?? 5000,
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      logger: options.logger ?? consoleLogger,
      onBatch: options.onBatch,
    };
    for (const name of ['maxBatch', 'replayBatch', 'redisTimeoutMs', 'replayIntervalMs', 'replayTimeoutMs', 'connectTimeoutMs'] as const) {
      const value = this.options[name];
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    if (!isValidQueuePrefix(this.options.prefix)) throw new RangeError(`prefix must be non-empty and without ':', got ${JSON.stringify(this.options.prefix)}`);
    if (isClusterUrl(this.options.redisUrl) && !hasHashTag(this.options.prefix)) {
      throw new RangeError(`prefix ${CLUSTER_PREFIX_RULE}, got ${JSON.stringify(this.options.prefix)}`);
    }
    if (!Number.isInteger(this.options.maxDelayMs) || this.options.maxDelayMs < 0) {
      throw new RangeError(`maxDelayMs must be a non-negative integer, got ${this.options.maxDelayMs}`);
    }
    this.jobOptions = { ...TRACKING_EVENT_JOB_OPTIONS, ...options.jobOptions };
    this.logger = this.options.logger;
  }

  /**
   * Opens the spool and Redis, then replays what a previous run left in the spool. Waits at
   * most `connectTimeoutMs` for Redis: when it is down the publisher starts anyway, spooling,
   * and replays once Redis is back. Rejects only if the spool cannot be opened.
   */
  start(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error('start() may be called once, before close()'));
    this.state = 'starting';
    this.started = this.open();
    return this.started;
  }

  private async open(): Promise<void> {
    const { logger } = this;
    this.spool = await EventSpool.open({ directory: this.options.spoolDirectory, logger });
    if (this.spool.sizeBytes > 0) {
      logger.warn({ spool: this.spool.path, events: this.spool.pending, bytes: this.spool.sizeBytes }, 'tracking events left in the spool by a previous run; replaying them');
    }

    const connection = connectRedis(this.options.redisUrl, { ...FAIL_FAST_REDIS_OPTIONS, connectTimeout: this.options.connectTimeoutMs });
    this.connection = connection;
    this.health = new RedisHealth(connection, { url: this.options.redisUrl, logger });
    // The cause is logged by `health`; here the events only switch to the spool.
    connection.on('error', () => this.noteRedisTrouble());
    connection.on('close', () => this.noteRedisTrouble());
    connection.on('ready', () => {
      if (this.redisTrouble && this.spool?.sizeBytes === 0) this.noteRedisBack();
      this.replaySoon();
    });
    this.queue = new Queue(this.options.queueName, { connection, prefix: this.options.prefix });
    // A listener keeps BullMQ from printing them.
    this.queue.on('error', this.health.errorListener('tracking-events queue'));

    await firstConnectionOutcome(connection, this.options.connectTimeoutMs);
    if (this.state !== 'starting') return; // close() was called meanwhile
    this.state = 'running';
    this.accepting = true;
    this.replayTimer = setInterval(() => this.replaySoon(), this.options.replayIntervalMs);
    this.replayTimer.unref();
    this.replaySoon();
    await this.replaying;
    logger.info(
      { queue: this.options.queueName, prefix: this.options.prefix, spool: this.spool.path, spooledEvents: this.spool.pending, redis: connection.status },
      'event publisher started',
    );
  }

  /**
   * Resolves once the event is stored: added to the queue, or appended to the spool (fsync'd)
   * when Redis is down or slower than `redisTimeoutMs`. Rejects if the event is invalid
   * (InvalidPayloadError), the publisher is not running, or neither Redis nor the disk took it.
   * Publishing the same event (same id) twice gives one job.
   */
  publish(event: TrackingEvent): Promise<void> {
    if (!this.accepting) {
      return Promise.reject(new Error(this.state === 'closed' ? 'the event publisher is closed' : 'call start() (and wait for it) before publish()'));
    }
    let valid: TrackingEvent;
    try {
      valid = parseTrackingEvent(event);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event: valid, resolve, reject });
      this.scheduleCommit();
    });
  }

  /** Counters and gauges for metrics; cheap, call it on every scrape. */
  stats(): EventPublisherStats {
    return {
      ...this.counters,
      pendingEvents: this.pending.length,
      spoolBytes: this.spool?.sizeBytes ?? 0,
      spoolEvents: this.spool?.pending ?? 0,
      spoolRejectedLines: this.spool?.rejected ?? 0,
      redisConnected: this.connection?.status === 'ready',
    };
  }

  /** The spool file's path, for logs and operators. */
  get spoolPath(): string | undefined {
    return this.spool?.path;
  }

  /**
   * Stores every pending event (in Redis or the spool, like any batch, without waiting for
   * `maxDelayMs`), waits for a replay in progress to reach the end of its current chunk, and
   * closes the connection and the spool. Events published while it drains are stored too;
   * once drained, publish() rejects. What is still spooled is replayed by the next start().
   * Call it after the HTTP server stopped taking requests. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'draining';
    clearInterval(this.replayTimer);
    await this.started?.catch(() => undefined);
    await this.drain();
    this.accepting = false;
    await this.drain(); // anything published in the same tick as the end of the first drain
    this.state = 'closed';
    await this.replaying;
    await this.queue?.close().catch((error: unknown) => this.logger.warn({ err: error }, 'closing the tracking-events queue failed'));
    await this.health?.close();
    await this.spool?.close();
    if (wasRunning) {
      this.logger.info({ ...this.stats(), redisConnected: undefined }, 'event publisher closed');
    }
  }

  // ---- group commit ----------------------------------------------------------------------

  private scheduleCommit(): void {
    // A commit in progress takes everything pending when it ends.
    if (this.committing) return;
    if (this.pending.length >= this.options.maxBatch || this.state === 'draining') {
      this.startCommit();
    } else {
      // 0: flush once the requests that arrived in this turn of the event loop have all
      // published (a timer would leave the loop idle while connections wait in lockstep).
      if (this.flushTimer) return;
      if (this.options.maxDelayMs === 0) {
        const immediate = setImmediate(() => this.startCommit());
        this.flushTimer = () => clearImmediate(immediate);
      } else {
        const timer = setTimeout(() => this.startCommit(), this.options.maxDelayMs);
        this.flushTimer = () => clearTimeout(timer);
      }
    }
  }

  private startCommit(): void {
    this.flushTimer?.();
    this.flushTimer = undefined;
    if (this.committing || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.options.maxBatch);
    this.committing = this.commit(batch).finally(() => {
      this.committing = undefined;
      // These waited for the whole previous commit already: no extra delay.
      if (this.pending.length > 0) this.startCommit();
    });
  }

  /** Until nothing is pending nor being stored. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0 || this.committing) {
      if (!this.committing) this.startCommit();
      await this.committing;
    }
  }

  private async commit(batch: PendingEvent[]): Promise<void> {
    const startedAt = performance.now();
    const events = batch.map((item) => item.event);
    let destination: BatchDestination;
    try {
      destination = await this.store(events);
      for (const item of batch) item.resolve();
    } catch (error) {
      destination = 'failed';
      this.counters.eventsFailed += batch.length;
      this.logger.error({ err: error, events: batch.length, spool: this.spool?.path }, 'tracking events could be stored neither in Redis nor in the spool');
      for (const item of batch) item.reject(error);
    }
    this.counters.batches += 1;
    this.counters.lastBatchSize = batch.length;
    this.counters.largestBatchSize = Math.max(this.counters.largestBatchSize, batch.length);
    try {
      this.options.onBatch?.({ size: batch.length, destination, durationMs: performance.now() - startedAt });
    } catch (error) {
      this.logger.warn({ err: error }, 'onBatch callback threw');
    }
  }

  private async store(events: readonly TrackingEvent[]): Promise<'redis' | 'spool'> {
    const spool = this.spool!;
    const status = this.connection?.status;
    if (status !== 'ready') this.noteRedisTrouble();
    // Events already spooled go first: while the spool holds anything, join it at the back.
    if (spool.sizeBytes === 0 && status === 'ready') {
      try {
        // An add given up here may still land later; it is the same jobs, so that is harmless.
        await withTimeout(this.add(events), this.options.redisTimeoutMs, `adding ${events.length} events took over ${this.options.redisTimeoutMs} ms`);
        this.counters.eventsToRedis += events.length;
        return 'redis';
      } catch (error) {
        this.counters.redisFailures += 1;
        this.noteRedisTrouble(error);
      }
    }
    await spool.append(events);
    this.counters.eventsSpooled += events.length;
    return 'spool';
  }

  private add(events: readonly TrackingEvent[]): Promise<unknown> {
    return this.queue!.addBulk(
      events.map((event) => ({ name: event.type, data: event, opts: { ...this.jobOptions, jobId: jobIdForEvent(event.id) } })),
    );
  }

  // ---- replay ----------------------------------------------------------------------------

  /** Starts a replay pass unless one runs, the spool is empty or Redis is not connected. */
  private replaySoon(): void {
    if (this.replaying || this.state !== 'running') return;
    if (!this.spool || this.spool.sizeBytes === 0 || this.connection?.status !== 'ready') return;
    this.replaying = this.replay().finally(() => {
      this.replaying = undefined;
    });
  }

  /**
   * Adds the spooled events to the queue in file order, a chunk at a time, then truncates the
   * spool, unless batches were appended meanwhile: then it goes on with those. A failure
   * stops the pass; the next one resumes where this one got to.
   */
  private async replay(): Promise<void> {
    const spool = this.spool!;
    const { replayBatch, replayTimeoutMs } = this.options;
    try {
      while (spool.sizeBytes > 0 && this.state === 'running' && this.connection?.status === 'ready') {
        const end = spool.sizeBytes;
        while (this.replayedUpTo < end) {
          if (this.state !== 'running') return;
          const chunk = await spool.read(this.replayedUpTo, replayBatch, end);
          if (chunk.events.length > 0) {
            await withTimeout(this.add(chunk.events), replayTimeoutMs, `replaying ${chunk.events.length} events took over ${replayTimeoutMs} ms`);
            this.counters.eventsReplayed += chunk.events.length;
          }
          this.replayedUpTo = chunk.next;
        }
        if (await spool.clearIfSize(end)) {
          this.replayedUpTo = 0;
          this.logger.info({ spool: spool.path, replayed: this.counters.eventsReplayed }, 'spooled tracking events are in the queue; spool emptied');
          if (this.redisTrouble) this.noteRedisBack();
        }
      }
    } catch (error) {
      this.counters.replayFailures += 1;
      this.logger.warn({ err: error, spool: spool.path, spoolBytes: spool.sizeBytes }, 'replaying the spool failed; retrying later');
    }
  }

  // ---- outage reporting ------------------------------------------------------------------

  /** `error`: what went wrong with an add (a lost connection's cause is logged by RedisHealth). */
  private noteRedisTrouble(error?: unknown): void {
    if (this.redisTrouble || this.state === 'closed') return;
    this.redisTrouble = true;
    this.logger.warn({ ...(error !== undefined && { err: error }), spool: this.spool?.path }, 'Redis is unavailable or slow: tracking events go to the spool until it is back');
  }

  private noteRedisBack(): void {
    this.redisTrouble = false;
    this.logger.info({ spool: this.spool?.path }, 'Redis is back: tracking events go to the queue again');
  }
}

/** Rejects after `ms` if `promise` has not settled; its late outcome is then ignored. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves when the connection is up, has failed once, or after `ms`, whichever comes first. */
function firstConnectionOutcome(connection: RedisConnection, ms: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const event of ['ready', 'error', 'close', 'end']) connection.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const event of ['ready', 'error', 'close', 'end']) connection.on(event, done);
  });
}

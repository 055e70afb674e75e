/*
 * Gathers items (one per queue job) into batches written in one go. BullMQ's open-source
 * worker hands out jobs one by one; with a concurrency of about twice the batch size, each
 * job's processor calls `add` and waits: the promise settles when its batch is committed.
 * Up to `maxConcurrentWrites` batches are written at a time while the next one fills, so the
 * worker holds at most that many batches plus one, and the rest wait in Redis.
 */

export interface EventBatcherOptions<T> {
  /** A batch is written once it holds this many items… */
  maxSize: number;
  /** …or this long after its first item arrived. */
  maxWaitMs: number;
  /**
   * Batches written at once (default 1). Two let one batch be prepared while the database
   * works on the other; the writer must then be safe to run concurrently.
   */
  maxConcurrentWrites?: number;
  /** Writes one batch, all or nothing. */
  write(items: readonly T[]): Promise<void>;
  /** Errors worth retrying unchanged (the database down); others are about the items and get isolated. */
  isTransient(error: unknown): boolean;
  /** Retry delays: doubling from `retryMinMs` up to `retryMaxMs` (defaults 100 ms and 10 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  onRetry?(error: unknown, attempt: number, delayMs: number, size: number): void;
  onWritten?(size: number, durationMs: number): void;
  /** An item that fails on its own with a non-transient error: its `add` promise rejects. */
  onItemFailed?(item: T, error: unknown): void;
}

interface Pending<T> {
  item: T;
  resolve(): void;
  reject(error: unknown): void;
}

export class BatcherClosedError extends Error {
  override readonly name = 'BatcherClosedError';
}

export class EventBatcher<T> {
  private forming: Pending<T>[] = [];
  private readonly sealed: Pending<T>[][] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Batches being written (or retried, or isolated) now. */
  private writers = 0;
  /** close() calls waiting for the last write. */
  private readonly idle: (() => void)[] = [];
  private closed = false;
  private abandoned = false;
  private readonly wakeRetries = new Set<() => void>();
  /** Items of the batches being written not yet settled. */
  private inFlight = 0;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly maxConcurrentWrites: number;

  constructor(private readonly options: EventBatcherOptions<T>) {
    if (!(options.maxSize >= 1)) throw new RangeError(`maxSize must be at least 1, got ${options.maxSize}`);
    if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${options.maxWaitMs}`);
    this.retryMinMs = options.retryMinMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 1;
    if (!(Number.isInteger(this.maxConcurrentWrites) && this.maxConcurrentWrites >= 1)) {
      throw new RangeError(`maxConcurrentWrites must be a whole number ≥ 1, got ${options.maxConcurrentWrites}`);
    }
  }

  /** Items waiting for their batch to be written. */
  get pending(): number {
    return this.inFlight + this.forming.length + this.sealed.reduce((sum, batch) => sum + batch.length, 0);
  }

  /** Resolves once the item's batch is committed; rejects if the item itself cannot be written. */
  add(item: T): Promise<void> {
    if (this.closed) return Promise.reject(new BatcherClosedError('the batcher is closed'));
    return new Promise<void>((resolve, reject) => {
      this.forming.push({ item, resolve, reject });
      if (this.forming.length >= this.options.maxSize) this.seal();
      else this.timer ??= setTimeout(() => this.seal(), this.options.maxWaitMs);
    });
  }

  /** Writes what is waiting now, then stops taking items. */
  async close(): Promise<void> {
    this.closed = true;
    this.seal();
    if (this.writers > 0 || this.sealed.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /**
   * Gives up on unwritten batches (shutdown with the database still down): their items reject
   * with BatcherClosedError, so their jobs return to the queue instead of being completed.
   */
  abandon(): void {
    this.closed = true;
    this.abandoned = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const error = new BatcherClosedError('shut down before the batch could be written');
    for (const pending of [...this.forming, ...this.sealed.flat()]) pending.reject(error);
    this.forming = [];
    this.sealed.length = 0;
    for (const wake of this.wakeRetries) wake();
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.forming.length > 0) {
      this.sealed.push(this.forming);
      this.forming = [];
    }
    this.startWriters();
  }

  private startWriters(): void {
    while (!this.abandoned && this.writers < this.maxConcurrentWrites && this.sealed.length > 0) {
      const batch = this.sealed.shift()!;
      this.writers++;
      this.inFlight += batch.length;
      void this.writeIsolating(batch).finally(() => {
        this.writers--;
        this.startWriters();
        if (this.writers === 0 && this.sealed.length === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  /** Writes a batch; one that fails for its data is split until the bad items stand alone. */
  private async writeIsolating(batch: Pending<T>[]): Promise<void> {
    const outcome = await this.writeRetrying(batch);
    if (outcome === 'written') {
      this.inFlight -= batch.length;
      for (const pending of batch) pending.resolve();
      return;
    }
    if (outcome === 'abandoned') {
      const error = new BatcherClosedError('shut down before the batch could be written');
      this.inFlight -= batch.length;
      for (const pending of batch) pending.reject(error);
      return;
    }
    if (batch.length === 1) {
      this.inFlight -= 1;
      this.options.onItemFailed?.(batch[0].item, outcome.error);
      batch[0].reject(outcome.error);
      return;
    }
    const half = Math.ceil(batch.length / 2);
    await this.writeIsolating(batch.slice(0, half));
    await this.writeIsolating(batch.slice(half));
  }

  private async writeRetrying(batch: Pending<T>[]): Promise<'written' | 'abandoned' | { error: unknown }> {
    for (let attempt = 1; ; attempt++) {
      if (this.abandoned) return 'abandoned';
      const started = performance.now();
      try {
        await this.options.write(batch.map((pending) => pending.item));
        this.options.onWritten?.(batch.length, performance.now() - started);
        return 'written';
      } catch (error) {
        if (!this.options.isTransient(error)) return { error };
        // abandon() came during this attempt: no retry, and no waiting out the delay.
        if (this.abandoned) return 'abandoned';
        const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(attempt - 1, 30));
        this.options.onRetry?.(error, attempt, delay, batch.length);
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.wakeRetries.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, delay);
          this.wakeRetries.add(wake);
        });
      }
    }
  }
}

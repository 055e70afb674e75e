/*
 * Gathers items (one per queue job) into batches written in one go. BullMQ's open-source
 * worker hands out jobs one by one; with a concurrency of about twice the batch size, each
 * job's processor calls `add` and waits: the promise settles when its batch is committed.
 * One batch is written at a time while the next one fills, so the worker holds at most two
 * batches of jobs and the rest wait in Redis.
 */

export interface EventBatcherOptions<T> {
  /** A batch is written once it holds this many items… */
  maxSize: number;
  /** …or this long after its first item arrived. */
  maxWaitMs: number;
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
  private writing: Promise<void> | undefined;
  private closed = false;
  private abandoned = false;
  private wakeRetry: (() => void) | undefined;
  /** Items of the batch being written (or retried, or isolated) not yet settled. */
  private inFlight = 0;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly options: EventBatcherOptions<T>) {
    if (!(options.maxSize >= 1)) throw new RangeError(`maxSize must be at least 1, got ${options.maxSize}`);
    if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${options.maxWaitMs}`);
    this.retryMinMs = options.retryMinMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
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
    // A batch sealed just as a drain ended is written by the next one, which replaces `writing`.
    while (this.writing) await this.writing;
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
    this.wakeRetry?.();
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.forming.length > 0) {
      this.sealed.push(this.forming);
      this.forming = [];
    }
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
      if (this.sealed.length > 0 && !this.abandoned) this.seal();
    });
  }

  private async drain(): Promise<void> {
    for (let batch = this.sealed.shift(); batch; batch = this.sealed.shift()) {
      this.inFlight = batch.length;
      await this.writeIsolating(batch);
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
          const timer = setTimeout(resolve, delay);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
      }
    }
  }
}

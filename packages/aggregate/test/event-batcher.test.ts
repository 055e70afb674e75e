import { BatcherClosedError, EventBatcher, type EventBatcherOptions } from '../src/event-batcher';

class TransientError extends Error {
  override readonly name = 'TransientError';
}
class DataError extends Error {
  override readonly name = 'DataError';
}

const isTransient = (error: unknown): boolean => error instanceof TransientError;

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Follows a promise without leaving its rejection unhandled. */
interface Tracked {
  state: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
  promise: Promise<void>;
}

function track(promise: Promise<void>): Tracked {
  const tracked: Tracked = { state: 'pending', promise };
  promise.then(
    () => {
      tracked.state = 'resolved';
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Lets every queued promise continuation run (a macrotask turn). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(1);
  }
}

/** A write function that records every call and lets the test decide when each one ends. */
function controlledWrite<T>() {
  const calls: { items: T[]; done: Deferred }[] = [];
  let active = 0;
  let maxActive = 0;
  const write = async (items: readonly T[]): Promise<void> => {
    const done = deferred();
    calls.push({ items: [...items], done });
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      await done.promise;
    } finally {
      active--;
    }
  };
  return {
    write,
    calls,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

const batchers: EventBatcher<unknown>[] = [];
function batcher<T>(options: EventBatcherOptions<T>): EventBatcher<T> {
  const created = new EventBatcher<T>(options);
  batchers.push(created as EventBatcher<unknown>);
  return created;
}

afterEach(() => {
  // No timer of a failed test may outlive it.
  for (const created of batchers.splice(0)) created.abandon();
});

describe('EventBatcher', () => {
  describe('constructor', () => {
    test.each([0, -1, 0.5, Number.NaN])('rejects maxSize %p', (maxSize) => {
      expect(() => new EventBatcher({ maxSize, maxWaitMs: 10, write: async () => {}, isTransient })).toThrow(RangeError);
    });

    test.each([-1, -0.5, Number.NaN])('rejects maxWaitMs %p', (maxWaitMs) => {
      expect(() => new EventBatcher({ maxSize: 1, maxWaitMs, write: async () => {}, isTransient })).toThrow(RangeError);
    });

    test('accepts maxSize 1 and maxWaitMs 0', () => {
      expect(() => new EventBatcher({ maxSize: 1, maxWaitMs: 0, write: async () => {}, isTransient })).not.toThrow();
    });
  });

  test('writes a batch as soon as it reaches maxSize, without waiting maxWaitMs', async () => {
    const writes: number[][] = [];
    const b = batcher<number>({ maxSize: 3, maxWaitMs: 60_000, write: async (items) => void writes.push([...items]), isTransient });

    const first = [b.add(1), b.add(2)];
    expect(writes).toEqual([]);
    first.push(b.add(3));
    // The third add seals the batch and starts its write right away.
    expect(writes).toEqual([[1, 2, 3]]);
    await Promise.all(first);

    const fourth = track(b.add(4));
    await flush();
    expect(writes).toEqual([[1, 2, 3]]);
    expect(fourth.state).toBe('pending');
    expect(b.pending).toBe(1);
  });

  test('writes a partial batch maxWaitMs after its first item', async () => {
    const writes: { items: string[]; at: number }[] = [];
    const maxWaitMs = 40;
    const b = batcher<string>({
      maxSize: 10,
      maxWaitMs,
      write: async (items) => void writes.push({ items: [...items], at: performance.now() }),
      isTransient,
    });

    const started = performance.now();
    const a = track(b.add('a'));
    await sleep(5);
    const c = track(b.add('b'));
    await sleep(5);
    expect(writes).toEqual([]);
    expect(a.state).toBe('pending');

    await Promise.all([a.promise, c.promise]);
    expect(writes.map((write) => write.items)).toEqual([['a', 'b']]);
    // Timed from the first item (timers may fire a hair early, never much).
    expect(writes[0].at - started).toBeGreaterThanOrEqual(maxWaitMs - 2);

    // A new batch gets its own window.
    const d = track(b.add('c'));
    await d.promise;
    expect(writes.map((write) => write.items)).toEqual([['a', 'b'], ['c']]);
  });

  test('writes a partial batch after maxWaitMs (fake timers)', async () => {
    jest.useFakeTimers();
    try {
      const writes: number[][] = [];
      const b = batcher<number>({ maxSize: 5, maxWaitMs: 100, write: async (items) => void writes.push([...items]), isTransient });
      const one = track(b.add(1));
      await jest.advanceTimersByTimeAsync(60);
      const two = track(b.add(2));
      await jest.advanceTimersByTimeAsync(39);
      expect(writes).toEqual([]);
      expect(one.state).toBe('pending');
      // 100 ms after the first item, not after the second.
      await jest.advanceTimersByTimeAsync(1);
      expect(writes).toEqual([[1, 2]]);
      expect(one.state).toBe('resolved');
      expect(two.state).toBe('resolved');
    } finally {
      jest.useRealTimers();
    }
  });

  test('add promises resolve only once the write of their batch has resolved', async () => {
    const log: string[] = [];
    const control = controlledWrite<number>();
    const b = batcher<number>({
      maxSize: 2,
      maxWaitMs: 60_000,
      write: async (items) => {
        await control.write(items);
        log.push('write resolved');
      },
      isTransient,
    });

    const items = [track(b.add(1)), track(b.add(2))];
    items.forEach((item, i) => item.promise.then(() => log.push(`item ${i} resolved`)));
    expect(control.calls).toHaveLength(1);
    await flush();
    await sleep(10);
    expect(items.map((item) => item.state)).toEqual(['pending', 'pending']);

    control.calls[0].done.resolve();
    await Promise.all(items.map((item) => item.promise));
    expect(log).toEqual(['write resolved', 'item 0 resolved', 'item 1 resolved']);
  });

  test('runs one write at a time while the next batch fills', async () => {
    const control = controlledWrite<number>();
    const b = batcher<number>({ maxSize: 2, maxWaitMs: 60_000, write: control.write, isTransient });

    const items = [0, 1].map((n) => track(b.add(n)));
    expect(control.calls.map((call) => call.items)).toEqual([[0, 1]]);

    // The next batches fill and seal while the first one is being written.
    items.push(...[2, 3, 4, 5].map((n) => track(b.add(n))));
    const sixth = track(b.add(6));
    await flush();
    expect(control.calls).toHaveLength(1);
    expect(control.active).toBe(1);

    control.calls[0].done.resolve();
    await waitFor(() => control.calls.length === 2);
    expect(items.map((item) => item.state)).toEqual(['resolved', 'resolved', 'pending', 'pending', 'pending', 'pending']);
    expect(control.calls[1].items).toEqual([2, 3]);
    await flush();
    expect(control.calls).toHaveLength(2);

    control.calls[1].done.resolve();
    await waitFor(() => control.calls.length === 3);
    expect(control.calls[2].items).toEqual([4, 5]);
    control.calls[2].done.resolve();
    await Promise.all(items.map((item) => item.promise));

    expect(control.maxActive).toBe(1);
    // The seventh item still waits for its own batch.
    expect(sixth.state).toBe('pending');
    expect(control.calls).toHaveLength(3);
  });


  test('with maxConcurrentWrites 2, two batches are written at once, never three; close waits for both', async () => {
    const control = controlledWrite<number>();
    const b = batcher<number>({ maxSize: 2, maxWaitMs: 60_000, write: control.write, isTransient, maxConcurrentWrites: 2 });
    const items = [0, 1, 2, 3, 4, 5].map((n) => track(b.add(n)));
    await flush();
    expect(control.calls.map((call) => call.items)).toEqual([[0, 1], [2, 3]]);
    expect(control.active).toBe(2);

    // The second finishes first: its items resolve, the third batch starts, the first still waits.
    control.calls[1].done.resolve();
    await waitFor(() => control.calls.length === 3);
    expect(items.map((item) => item.state)).toEqual(['pending', 'pending', 'resolved', 'resolved', 'pending', 'pending']);
    expect(control.calls[2].items).toEqual([4, 5]);

    const last = track(b.add(6));
    let closed = false;
    const closing = b.close().then(() => (closed = true));
    await flush();
    expect(control.active).toBe(2); // the batch of item 6 waits for a free writer
    control.calls[0].done.resolve();
    await waitFor(() => control.calls.length === 4);
    control.calls[2].done.resolve();
    await flush();
    expect(closed).toBe(false);
    control.calls[3].done.resolve();
    await closing;
    await Promise.all([...items, last].map((item) => item.promise));
    expect(control.maxActive).toBe(2);
  });

  test('rejects a maxConcurrentWrites that is not a whole number ≥ 1', () => {
    for (const maxConcurrentWrites of [0, 1.5, -1]) {
      expect(() => new EventBatcher<number>({ maxSize: 1, maxWaitMs: 1, write: async () => {}, isTransient, maxConcurrentWrites })).toThrow(RangeError);
    }
  });
  test('retries transient errors with growing delays until a write succeeds', async () => {
    const attempts: { items: number[]; at: number }[] = [];
    const retries: [unknown, number, number, number][] = [];
    const failures = 4;
    const b = batcher<number>({
      maxSize: 3,
      maxWaitMs: 60_000,
      retryMinMs: 5,
      retryMaxMs: 20,
      isTransient,
      write: async (items) => {
        attempts.push({ items: [...items], at: performance.now() });
        if (attempts.length <= failures) throw new TransientError(`down (${attempts.length})`);
      },
      onRetry: (error, attempt, delayMs, size) => retries.push([error, attempt, delayMs, size]),
    });

    const items = [1, 2, 3].map((n) => track(b.add(n)));
    await Promise.all(items.map((item) => item.promise));

    expect(attempts).toHaveLength(failures + 1);
    for (const attempt of attempts) expect(attempt.items).toEqual([1, 2, 3]);
    // Doubling from retryMinMs, capped at retryMaxMs.
    expect(retries.map(([, attempt, delayMs, size]) => [attempt, delayMs, size])).toEqual([
      [1, 5, 3],
      [2, 10, 3],
      [3, 20, 3],
      [4, 20, 3],
    ]);
    retries.forEach(([error], i) => {
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toBe(`down (${i + 1})`);
    });
    // Each retry waited (at least about) its delay.
    for (let i = 1; i < attempts.length; i++) {
      expect(attempts[i].at - attempts[i - 1].at).toBeGreaterThanOrEqual(retries[i - 1][2] - 2);
    }
  });

  test('items do not resolve while their batch is being retried', async () => {
    let fail = true;
    let attempts = 0;
    const b = batcher<number>({
      maxSize: 1,
      maxWaitMs: 60_000,
      retryMinMs: 5,
      retryMaxMs: 5,
      isTransient,
      write: async () => {
        attempts++;
        if (fail) throw new TransientError('down');
      },
    });
    const item = track(b.add(1));
    await waitFor(() => attempts >= 3);
    expect(item.state).toBe('pending');
    expect(b.pending).toBe(1);
    fail = false;
    await item.promise;
    expect(b.pending).toBe(0);
  });

  test('isolates items that fail on their own by bisection', async () => {
    const bad = new Set(['bad-1', 'bad-2', 'bad-3']);
    const items = ['g0', 'bad-1', 'g1', 'g2', 'g3', 'g4', 'bad-2', 'g5', 'bad-3', 'g6', 'g7'];
    const errors: DataError[] = [];
    const written: string[][] = [];
    const failed: [string, unknown][] = [];
    const b = batcher<string>({
      maxSize: items.length,
      maxWaitMs: 60_000,
      isTransient,
      write: async (batch) => {
        const culprits = batch.filter((item) => bad.has(item));
        if (culprits.length > 0) {
          const error = new DataError(`invalid: ${culprits.join(', ')}`);
          errors.push(error);
          throw error;
        }
        written.push([...batch]);
      },
      onItemFailed: (item, error) => failed.push([item, error]),
    });

    const tracked = items.map((item) => track(b.add(item)));
    await Promise.allSettled(tracked.map((t) => t.promise));

    items.forEach((item, i) => {
      if (bad.has(item)) {
        expect(tracked[i].state).toBe('rejected');
        expect(tracked[i].error).toBeInstanceOf(DataError);
        // The error of the write that held this item alone.
        expect((tracked[i].error as Error).message).toBe(`invalid: ${item}`);
        expect(errors).toContain(tracked[i].error);
      } else {
        expect(tracked[i].state).toBe('resolved');
      }
    });

    expect(failed.map(([item]) => item).sort()).toEqual([...bad].sort());
    for (const [item, error] of failed) expect(tracked[items.indexOf(item)].error).toBe(error);

    // Every good item was committed exactly once, and no bad one ever was.
    const good = items.filter((item) => !bad.has(item));
    expect(written.flat().sort()).toEqual([...good].sort());
    expect(b.pending).toBe(0);
  });

  test('a batch whose every item is bad rejects each of them', async () => {
    const failed: number[] = [];
    const b = batcher<number>({
      maxSize: 4,
      maxWaitMs: 60_000,
      isTransient,
      write: async () => {
        throw new DataError('nope');
      },
      onItemFailed: (item) => failed.push(item),
    });
    const tracked = [1, 2, 3, 4].map((n) => track(b.add(n)));
    await Promise.allSettled(tracked.map((t) => t.promise));
    expect(tracked.map((t) => t.state)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(failed.sort()).toEqual([1, 2, 3, 4]);
  });

  test('transient errors met while isolating are retried, not blamed on items', async () => {
    let transientLeft = 2;
    const written: string[][] = [];
    const failed: string[] = [];
    const b = batcher<string>({
      maxSize: 4,
      maxWaitMs: 60_000,
      retryMinMs: 1,
      retryMaxMs: 2,
      isTransient,
      write: async (batch) => {
        if (batch.length < 4 && transientLeft > 0) {
          transientLeft--;
          throw new TransientError('blip');
        }
        if (batch.includes('bad')) throw new DataError('bad');
        written.push([...batch]);
      },
      onItemFailed: (item) => failed.push(item),
    });
    const tracked = ['a', 'b', 'bad', 'c'].map((item) => track(b.add(item)));
    await Promise.allSettled(tracked.map((t) => t.promise));
    expect(tracked.map((t) => t.state)).toEqual(['resolved', 'resolved', 'rejected', 'resolved']);
    expect(failed).toEqual(['bad']);
    expect(written.flat().sort()).toEqual(['a', 'b', 'c']);
  });

  describe('close()', () => {
    test('writes the forming batch at once, then refuses items', async () => {
      const writes: number[][] = [];
      const b = batcher<number>({ maxSize: 10, maxWaitMs: 60_000, write: async (items) => void writes.push([...items]), isTransient });
      const items = [1, 2, 3].map((n) => track(b.add(n)));

      const closing = b.close();
      expect(writes).toEqual([[1, 2, 3]]);
      await closing;
      expect(items.map((item) => item.state)).toEqual(['resolved', 'resolved', 'resolved']);

      await expect(b.add(4)).rejects.toBeInstanceOf(BatcherClosedError);
      await expect(b.add(5)).rejects.toThrow('closed');
      expect(writes).toEqual([[1, 2, 3]]);
      expect(b.pending).toBe(0);
    });

    test('waits for the batch being written and the ones queued behind it', async () => {
      const control = controlledWrite<number>();
      const b = batcher<number>({ maxSize: 2, maxWaitMs: 60_000, write: control.write, isTransient });
      const items = [1, 2, 3, 4, 5].map((n) => track(b.add(n)));
      const closing = track(b.close());

      expect(control.calls).toHaveLength(1);
      control.calls[0].done.resolve();
      await waitFor(() => control.calls.length === 2);
      expect(closing.state).toBe('pending');
      control.calls[1].done.resolve();
      await waitFor(() => control.calls.length === 3);
      expect(control.calls.map((call) => call.items)).toEqual([[1, 2], [3, 4], [5]]);
      await flush();
      expect(closing.state).toBe('pending');
      control.calls[2].done.resolve();
      await closing.promise;
      expect(items.every((item) => item.state === 'resolved')).toBe(true);
    });

    test('with nothing waiting, resolves without writing', async () => {
      const write = jest.fn(async () => {});
      const b = batcher<number>({ maxSize: 2, maxWaitMs: 10, write, isTransient });
      await b.close();
      expect(write).not.toHaveBeenCalled();
      await expect(b.add(1)).rejects.toBeInstanceOf(BatcherClosedError);
    });

    // close() may come at any point of the microtask hops between one write's end and the
    // next drain: it must not resolve before the batch it sealed has been written.
    test.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12])('resolves after the last batch is written when called %i ticks after a write ends', async (ticks) => {
      const control = controlledWrite<number>();
      const b = batcher<number>({ maxSize: 2, maxWaitMs: 60_000, write: control.write, isTransient });
      const first = [1, 2].map((n) => track(b.add(n)));
      expect(control.calls).toHaveLength(1);
      control.calls[0].done.resolve();
      await first[1].promise;
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      const third = track(b.add(3));
      const closing = track(b.close());

      while (closing.state === 'pending') {
        await flush();
        for (const call of control.calls) call.done.resolve();
      }
      expect(closing.state).toBe('resolved');
      expect(third.state).toBe('resolved');
      expect(control.calls.map((call) => call.items)).toEqual([[1, 2], [3]]);
    });
  });

  describe('abandon()', () => {
    test('rejects the batch in retry, the sealed ones and the forming one, and stops writing', async () => {
      let attempts = 0;
      const b = batcher<number>({
        maxSize: 2,
        maxWaitMs: 60_000,
        retryMinMs: 5,
        retryMaxMs: 20,
        isTransient,
        write: async () => {
          attempts++;
          throw new TransientError('database down');
        },
      });
      const inRetry = [1, 2].map((n) => track(b.add(n)));
      const sealed = [3, 4, 5, 6].map((n) => track(b.add(n)));
      const forming = [track(b.add(7))];
      await waitFor(() => attempts >= 3);
      expect(b.pending).toBe(7);

      b.abandon();
      const all = [...inRetry, ...sealed, ...forming];
      await Promise.allSettled(all.map((item) => item.promise));
      for (const item of all) {
        expect(item.state).toBe('rejected');
        expect(item.error).toBeInstanceOf(BatcherClosedError);
      }
      expect(b.pending).toBe(0);

      const attemptsAtAbandon = attempts;
      await sleep(60);
      expect(attempts).toBe(attemptsAtAbandon);
      await expect(b.add(8)).rejects.toBeInstanceOf(BatcherClosedError);
      await b.close();
      expect(attempts).toBe(attemptsAtAbandon);
    });

    test('during a write that then fails transiently, rejects without waiting out the retry delay', async () => {
      const control = controlledWrite<number>();
      const b = batcher<number>({
        maxSize: 2,
        maxWaitMs: 60_000,
        retryMinMs: 60_000,
        retryMaxMs: 60_000,
        isTransient,
        write: control.write,
      });
      const items = [1, 2].map((n) => track(b.add(n)));
      const queued = track(b.add(3));
      b.abandon();
      expect(queued.state).toBe('pending'); // settles on the next tick
      control.calls[0].done.reject(new TransientError('database down'));

      const deadline = sleep(1000).then(() => 'timed out' as const);
      const outcome = await Promise.race([Promise.allSettled(items.map((item) => item.promise)).then(() => 'settled' as const), deadline]);
      expect(outcome).toBe('settled');
      for (const item of [...items, queued]) expect(item.error).toBeInstanceOf(BatcherClosedError);
      expect(control.calls).toHaveLength(1);
    });

    test('a write already under way that succeeds still resolves its items', async () => {
      const control = controlledWrite<number>();
      const b = batcher<number>({ maxSize: 2, maxWaitMs: 60_000, write: control.write, isTransient });
      const items = [1, 2].map((n) => track(b.add(n)));
      const forming = track(b.add(3));
      b.abandon();
      control.calls[0].done.resolve();
      await Promise.allSettled([...items, forming].map((item) => item.promise));
      expect(items.map((item) => item.state)).toEqual(['resolved', 'resolved']);
      expect(forming.error).toBeInstanceOf(BatcherClosedError);
      expect(control.calls).toHaveLength(1);
    });
  });

  test('pending counts every item not yet written, the batch being written included', async () => {
    const control = controlledWrite<number>();
    const b = batcher<number>({ maxSize: 2, maxWaitMs: 60_000, write: control.write, isTransient });
    expect(b.pending).toBe(0);
    const items = [track(b.add(1))];
    expect(b.pending).toBe(1);
    items.push(track(b.add(2))); // sealed, being written
    expect(control.calls).toHaveLength(1);
    expect(b.pending).toBe(2);
    items.push(...[3, 4, 5].map((n) => track(b.add(n)))); // one sealed, one forming
    expect(b.pending).toBe(5);

    control.calls[0].done.resolve();
    await items[0].promise;
    await waitFor(() => control.calls.length === 2);
    expect(b.pending).toBe(3);
    control.calls[1].done.resolve();
    await items[3].promise;
    await flush();
    expect(b.pending).toBe(1);
    const closing = b.close();
    expect(b.pending).toBe(1);
    await waitFor(() => control.calls.length === 3);
    control.calls[2].done.resolve();
    await closing;
    expect(b.pending).toBe(0);
  });

  test('pending drops as isolated items settle', async () => {
    const gate = deferred();
    let calls = 0;
    const b = batcher<string>({
      maxSize: 4,
      maxWaitMs: 60_000,
      isTransient,
      write: async (batch) => {
        calls++;
        if (calls === 1) throw new DataError('bad batch');
        // The first half ([a, bad]) is split further; hold the write of 'a'.
        if (batch.length === 1 && batch[0] === 'a') await gate.promise;
        if (batch.includes('bad')) throw new DataError('bad');
      },
    });
    const tracked = ['a', 'bad', 'c', 'd'].map((item) => track(b.add(item)));
    await waitFor(() => calls >= 3);
    expect(b.pending).toBe(4);
    gate.resolve();
    await Promise.allSettled(tracked.map((t) => t.promise));
    expect(b.pending).toBe(0);
  });
});

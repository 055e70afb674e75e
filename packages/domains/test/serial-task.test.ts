import { SerialTask } from '../src/serial-task';

/** A task whose runs the test ends one by one; each run resolves with its number (1, 2, …). */
function gatedTask() {
  let started = 0;
  const ends: Array<() => void> = [];
  const task = new SerialTask(() => {
    const run = ++started;
    return new Promise<number>((resolve) => ends.push(() => resolve(run)));
  });
  return { task, started: () => started, endNext: () => ends.shift()!() };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SerialTask', () => {
  test('asked for while it runs: one more run afterwards, shared by everyone who asked meanwhile', async () => {
    const { task, started, endNext } = gatedTask();
    const first = task.run();
    const [a, b] = [task.run(), task.run()];
    expect(task.hasQueued).toBe(true);
    endNext();
    expect(await first).toBe(1);
    await flush();
    expect(started()).toBe(2);
    endNext();
    expect(await Promise.all([a, b])).toEqual([2, 2]);
    expect(task.hasQueued).toBe(false);
  });

  test('a run asked for just as the running one ends does not make the queued callers wait for one more', async () => {
    const { task, started, endNext } = gatedTask();
    const first = task.run();
    let queuedResult: number | undefined;
    const queued = task.run().then((run) => (queuedResult = run));
    // Asked for in the very callbacks that see the first run end: before the queued run starts.
    const late = first.then(() => task.run());
    endNext();
    await first;
    await flush();
    expect(started()).toBe(2); // the queued run, and nothing else yet
    endNext();
    await flush();
    expect(queuedResult).toBe(2);
    await queued;
    // The late caller asked after run 2 started: it gets a run of its own, after it.
    await flush();
    endNext();
    expect(await late).toBe(3);
    expect(started()).toBe(3);
  });

  test('a failed run does not stop the queued one; its callers see their own run’s result', async () => {
    let runs = 0;
    const task = new SerialTask(async () => {
      runs++;
      if (runs === 1) throw new Error('first fails');
      return runs;
    });
    const first = task.run();
    const queued = task.run();
    await expect(first).rejects.toThrow('first fails');
    expect(await queued).toBe(2);
  });
});

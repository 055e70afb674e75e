/**
 * An async task that never overlaps itself, and whose callers can count on a run that starts
 * after they asked: asked for while it runs, it runs once more afterwards, that one run shared
 * by everyone who asked meanwhile. (A settings reload asked for because of a change that
 * committed while another reload was reading must not be served by that reload.)
 */
export class SerialTask<T> {
  private running?: Promise<T>;
  private queued?: { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void };

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.running) return this.start();
    if (!this.queued) {
      let resolve!: (value: T) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
      this.queued = { promise, resolve, reject };
    }
    return this.queued.promise;
  }

  /** Whether a run is waiting for the current one to end (joining it costs nothing). */
  get hasQueued(): boolean {
    return this.queued !== undefined;
  }

  private start(): Promise<T> {
    let run: Promise<T>;
    try {
      run = this.task();
    } catch (error) {
      run = Promise.reject(error);
    }
    this.running = run;
    // One callback both ends this run and starts the queued one: a run() slipping in between
    // would start a run of its own, and the queued callers would wait for one more after it.
    const ended = () => {
      this.running = undefined;
      const queued = this.queued;
      this.queued = undefined;
      if (queued) this.start().then(queued.resolve, queued.reject);
    };
    run.then(ended, ended);
    return run;
  }
}

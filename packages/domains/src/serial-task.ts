/**
 * An async task that never overlaps itself, and whose callers can count on a run that starts
 * after they asked: asked for while it runs, it runs once more afterwards, that one run shared
 * by everyone who asked meanwhile. (A settings reload asked for because of a change that
 * committed while another reload was reading must not be served by that reload.)
 */
export class SerialTask<T> {
  private running?: Promise<T>;
  private queued?: Promise<T>;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.running) {
      this.running = this.task().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.run();
      });
    return this.queued;
  }

  /** Whether a run is waiting for the current one to end (joining it costs nothing). */
  get hasQueued(): boolean {
    return this.queued !== undefined;
  }
}

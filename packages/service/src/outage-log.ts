/** What OutageLog writes to: a pino Logger fits (details first, as pino has it). */
export interface OutageLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface OutageLogOptions {
  logger: OutageLogger;
  /** Fields on every line (which service, where). */
  fields: Record<string, unknown>;
  /** While the outage lasts, one reminder line this often (default 60 s). */
  reminderMs?: number;
  /** The cause the lines give when no failure said more. */
  unknownCause: string;
  /** The lines' text: the outage's one warning, each reminder, and the line when it is over. */
  lost(cause: string): string;
  stillLost(seconds: number, cause: string): string;
  back(seconds: number): string;
}

/**
 * The log of a dependency's outages (Redis, PostgreSQL): a client that reconnects on its own
 * fails once per attempt, hundreds of lines a minute. Here an outage is one `warn` line with its
 * cause, a reminder every `reminderMs` while it lasts, and one `info` line when it is over; the
 * failures in between are counted, not logged.
 */
export class OutageLog {
  /** Since when (performance.now()), while the outage lasts. */
  private downSince: number | undefined;
  private latestCause: string | undefined;
  private failures = 0;
  private announced = false;
  private reminder: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: OutageLogOptions) {}

  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** What the last failure that said something said, during an outage. */
  get cause(): string | undefined {
    return this.latestCause;
  }

  /** A failure: the first starts an outage (true is returned then); a `cause` replaces the one the lines give. */
  failed(cause?: string): boolean {
    if (this.closed) return false;
    if (cause !== undefined) this.latestCause = cause;
    this.failures += 1;
    if (this.downSince !== undefined) return false;
    this.downSince = performance.now();
    return true;
  }

  /** Logs the outage's warning, once per outage, and starts the reminders. */
  announce(): void {
    if (this.announced || this.downSince === undefined || this.closed) return;
    this.announced = true;
    const { logger, fields, reminderMs = 60_000 } = this.options;
    const cause = this.latestCause ?? this.options.unknownCause;
    logger.warn({ ...fields, cause }, this.options.lost(cause));
    this.reminder = setInterval(() => {
      const seconds = this.downSeconds();
      const still = this.latestCause ?? this.options.unknownCause;
      logger.warn({ ...fields, cause: still, downSeconds: seconds, failures: this.failures }, this.options.stillLost(seconds, still));
    }, reminderMs);
    this.reminder.unref();
  }

  /** The outage is over: one line if it was announced. */
  recovered(): void {
    if (this.downSince === undefined || this.closed) return;
    if (this.announced) {
      const seconds = this.downSeconds();
      this.options.logger.info({ ...this.options.fields, downSeconds: seconds, failures: this.failures }, this.options.back(seconds));
    }
    clearInterval(this.reminder);
    this.announced = false;
    this.downSince = undefined;
    this.latestCause = undefined;
    this.failures = 0;
  }

  /** Stops logging (the process is stopping). */
  close(): void {
    this.closed = true;
    clearInterval(this.reminder);
  }

  private downSeconds(): number {
    return Math.round((performance.now() - this.downSince!) / 1000);
  }
}

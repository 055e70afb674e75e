import type { EventPartition, EventPartitions } from '@mailbeacon/db';

const DAY_MS = 86_400_000;

export interface EventRetentionOptions {
  /** Raw opens and clicks are kept this many whole days (UTC) before today; 0 keeps them forever. */
  retentionDays: number;
  /** Partitions made ahead of time, so the batches rarely have to create one (default 2 days). */
  daysAhead?: number;
  now?: () => number;
}

export interface RetentionResult {
  dropped: EventPartition[];
}

/**
 * Daily partitions of the raw event tables: made a few days ahead, dropped once all their
 * events are older than the retention. Counts in messages, link_stats and hourly_stats stay.
 */
export class EventRetention {
  private readonly daysAhead: number;
  private readonly now: () => number;

  constructor(
    private readonly partitions: EventPartitions,
    private readonly options: EventRetentionOptions,
  ) {
    if (!(Number.isInteger(options.retentionDays) && options.retentionDays >= 0)) {
      throw new RangeError(`retentionDays must be a whole number ≥ 0, got ${options.retentionDays}`);
    }
    this.daysAhead = options.daysAhead ?? 2;
    this.now = options.now ?? Date.now;
  }

  /** The instant before which raw events are dropped, or null when they are kept forever. */
  cutoff(): Date | null {
    if (this.options.retentionDays === 0) return null;
    const today = Math.floor(this.now() / DAY_MS) * DAY_MS;
    return new Date(today - this.options.retentionDays * DAY_MS);
  }

  async run(): Promise<RetentionResult> {
    const today = Math.floor(this.now() / DAY_MS) * DAY_MS;
    await this.partitions.ensure(Array.from({ length: this.daysAhead + 1 }, (_, i) => today + i * DAY_MS));
    const cutoff = this.cutoff();
    return { dropped: cutoff ? await this.partitions.dropOlderThan(cutoff) : [] };
  }
}

import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** The raw event tables, partitioned by UTC day on `at`. */
export const EVENT_TABLES = ['opens', 'clicks'] as const;
export type EventTable = (typeof EVENT_TABLES)[number];

const DAY_MS = 86_400_000;
/** Our partitions are named `<table>_pYYYYMMDD`; other names (an operator's own) are left alone. */
const PARTITION_NAME = /^(opens|clicks)_p(\d{4})(\d{2})(\d{2})$/;

export interface EventPartition {
  table: EventTable;
  name: string;
  /** Inclusive lower bound (midnight UTC). */
  from: Date;
  /** Exclusive upper bound (the next midnight UTC). */
  to: Date;
}

/** Midnight UTC of the day holding `at`. */
export function dayStart(at: Date | number): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS);
}

export function partitionName(table: EventTable, day: Date): string {
  return `${table}_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/**
 * Creates daily partitions before events land in them, and drops expired ones. Creating a
 * partition locks the parent table, so it happens outside the batch transactions and is
 * remembered: the aggregator asks for every batch, Postgres is asked once per day.
 */
export class EventPartitions {
  private readonly ensured = new Set<number>();

  constructor(private readonly db: Kysely<Database>) {}

  /** Makes sure the partitions for the days of these instants exist (both tables). */
  async ensure(instants: Iterable<Date | number>): Promise<void> {
    const missing = new Set<number>();
    for (const at of instants) {
      const day = dayStart(at).getTime();
      if (!this.ensured.has(day)) missing.add(day);
    }
    for (const day of [...missing].sort((a, b) => a - b)) {
      for (const table of EVENT_TABLES) await this.create(table, new Date(day));
      this.ensured.add(day);
    }
  }

  private async create(table: EventTable, day: Date): Promise<void> {
    const next = new Date(day.getTime() + DAY_MS);
    try {
      await sql`create table if not exists ${sql.table(partitionName(table, day))} partition of ${sql.table(table)}
        for values from (${sql.lit(day.toISOString())}) to (${sql.lit(next.toISOString())})`.execute(this.db);
    } catch (error) {
      // Another aggregator created it between our check and our create: that is what we wanted.
      const code = (error as { code?: string }).code;
      if (code !== '42P07' && code !== '23505') throw error;
    }
  }

  /** Our partitions of both tables, oldest first. */
  async list(): Promise<EventPartition[]> {
    const rows = await sql<{ name: string }>`
      select child.relname as name
      from pg_inherits
      join pg_class parent on parent.oid = pg_inherits.inhparent
      join pg_class child on child.oid = pg_inherits.inhrelid
      join pg_namespace ns on ns.oid = parent.relnamespace
      where ns.nspname = current_schema() and parent.relname in ('opens', 'clicks')`.execute(this.db);
    const partitions: EventPartition[] = [];
    for (const { name } of rows.rows) {
      const match = PARTITION_NAME.exec(name);
      if (!match) continue;
      const from = new Date(Date.UTC(Number(match[2]), Number(match[3]) - 1, Number(match[4])));
      partitions.push({ table: match[1] as EventTable, name, from, to: new Date(from.getTime() + DAY_MS) });
    }
    return partitions.sort((a, b) => a.from.getTime() - b.from.getTime() || a.table.localeCompare(b.table));
  }

  /**
   * Drops the partitions holding only events older than `cutoff` (their upper bound is at or
   * before it). Aggregated tables keep their counts; only the raw rows go.
   */
  async dropOlderThan(cutoff: Date): Promise<EventPartition[]> {
    const expired = (await this.list()).filter((partition) => partition.to.getTime() <= cutoff.getTime());
    for (const partition of expired) {
      await sql`drop table if exists ${sql.table(partition.name)}`.execute(this.db);
      this.ensured.delete(partition.from.getTime());
    }
    return expired;
  }
}

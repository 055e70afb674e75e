import { z } from 'zod';
import { trackingDomainHostSchema } from './admin-inputs';
import { parseWith } from './payloads';

/*
 * Which numbers to read: the stats API's query parameters and `mailbeacon stats`'s options
 * (--since/--until are from/to) validated alike, every bad field named. Times are UTC.
 */

const DAY_MS = 86_400_000;
/** The longest range read at all, and the longest shown hour by hour. */
export const MAX_STATS_RANGE_DAYS = 400;
export const MAX_HOURLY_RANGE_DAYS = 31;
/** Ranges up to this long are shown hour by hour unless `by` says otherwise. */
export const HOURLY_UP_TO_DAYS = 3;
export const DEFAULT_TOP_LINKS = 20;
export const MAX_TOP_LINKS = 500;

export const STATS_RANGES = ['today', '7d', '30d'] as const;
export type StatsRange = (typeof STATS_RANGES)[number];
const RANGE_DAYS: Record<StatsRange, number> = { today: 1, '7d': 7, '30d': 30 };

const WHEN = 'must be a date (2026-11-20, midnight UTC) or a date and time (2026-11-20T09:30:00Z; UTC unless it has an offset)';
const instant = z
  .string()
  .refine((value) => z.iso.date().safeParse(value).success || z.iso.datetime({ offset: true, local: true }).safeParse(value).success, WHEN)
  .transform((value) => new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(value) || !value.includes('T') ? value : `${value}Z`))
  .refine((date) => !Number.isNaN(date.getTime()), WHEN);

/** The query parameters as sent (strings); parseStatsQuery adds the rules across fields. Also documents them (the admin API's OpenAPI). */
export const statsQueryInputSchema = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  range: z.enum(STATS_RANGES, `must be one of ${STATS_RANGES.join(', ')}`).optional(),
  tag: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').regex(/^\P{Cc}*$/u, 'must not contain control characters').optional(),
  trackingDomain: trackingDomainHostSchema.optional(),
  audience: z.enum(['people', 'all'], 'must be people (machines left out, the default) or all').default('people'),
  by: z.enum(['hour', 'day'], 'must be hour or day').optional(),
  limit: z
    .string()
    .regex(/^\d{1,6}$/, `must be a whole number from 1 to ${MAX_TOP_LINKS}`)
    .transform(Number)
    .refine((limit) => limit >= 1 && limit <= MAX_TOP_LINKS, `must be a whole number from 1 to ${MAX_TOP_LINKS}`)
    .default(DEFAULT_TOP_LINKS),
});

export type StatsQueryInput = z.input<typeof statsQueryInputSchema>;

export interface StatsQuery {
  from: Date;
  to: Date;
  tag?: string;
  trackingDomain?: string;
  audience: 'people' | 'all';
  /** The series' buckets: as asked, else hours up to HOURLY_UP_TO_DAYS, days beyond. */
  by: 'hour' | 'day';
  limit: number;
}

/**
 * `range` (today, 7d, 30d: whole UTC days ending with today) or `from` [and `to`, default now];
 * nothing is 7d. The range is [from, to).
 */
export function parseStatsQuery(data: unknown, now: number = Date.now()): StatsQuery {
  const schema = statsQueryInputSchema.transform((input, ctx): StatsQuery => {
    const fail = (path: string, message: string) => {
      ctx.addIssue({ code: 'custom', path: [path], message });
      return z.NEVER;
    };
    if (input.range && (input.from || input.to)) return fail('range', 'give either range or from/to, not both');
    if (input.to && !input.from) return fail('from', 'is needed with to');
    const tomorrow = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
    const days = RANGE_DAYS[input.range ?? '7d'];
    const from = input.from ?? new Date(tomorrow - days * DAY_MS);
    const to = input.to ?? (input.from ? new Date(now) : new Date(tomorrow));
    if (to.getTime() <= from.getTime()) return fail('to', 'must be after from');
    const spanDays = (to.getTime() - from.getTime()) / DAY_MS;
    if (spanDays > MAX_STATS_RANGE_DAYS) return fail('to', `the range must be at most ${MAX_STATS_RANGE_DAYS} days`);
    const by = input.by ?? (spanDays <= HOURLY_UP_TO_DAYS ? 'hour' : 'day');
    if (by === 'hour' && spanDays > MAX_HOURLY_RANGE_DAYS + 1 / 24) return fail('by', `hour is for ranges of at most ${MAX_HOURLY_RANGE_DAYS} days (use day)`);
    return {
      from, to, audience: input.audience, by, limit: input.limit,
      ...(input.tag !== undefined && { tag: input.tag }),
      ...(input.trackingDomain !== undefined && { trackingDomain: input.trackingDomain }),
    };
  });
  return parseWith('stats query', schema, data);
}

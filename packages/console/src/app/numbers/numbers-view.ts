import type { StatsAudience } from '../../shared/types';

/*
 * What the numbers page shows, kept in the URL's fragment (#/servers/T/numbers?range=30d&tag=…)
 * so that a view can be bookmarked, reloaded and shared. Days are UTC days, as the API's.
 */

export type RangeChoice = 'today' | '7d' | '30d' | 'custom';

export interface NumbersView {
  range: RangeChoice;
  /** The custom range's first and last day (inclusive), YYYY-MM-DD. */
  from: string;
  to: string;
  tag: string;
  trackingDomain: string;
  audience: StatsAudience;
  /** The message looked up (its token or the platform's id), if any. */
  message: string;
}

export const RANGE_LABELS: Record<RangeChoice, string> = { today: 'Today', '7d': '7 days', '30d': '30 days', custom: 'Custom' };

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const nextDay = (day: string) => utcDay(Date.parse(`${day}T00:00:00Z`) + DAY_MS);

export function viewOf(params: URLSearchParams, now = Date.now()): NumbersView {
  const range = params.get('range');
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const custom = DATE.test(from) && DATE.test(to);
  return {
    range: custom ? 'custom' : range === 'today' || range === '30d' ? range : '7d',
    from: custom ? from : utcDay(now - 6 * DAY_MS),
    to: custom ? to : utcDay(now),
    tag: params.get('tag') ?? '',
    trackingDomain: params.get('domain') ?? '',
    audience: params.get('audience') === 'all' ? 'all' : 'people',
    message: params.get('message') ?? '',
  };
}

/** The fragment's query for a view: only what differs from the defaults, so links stay short. */
export function paramsOf(view: NumbersView): URLSearchParams {
  const params = new URLSearchParams();
  if (view.range === 'custom') {
    params.set('from', view.from);
    params.set('to', view.to);
  } else if (view.range !== '7d') params.set('range', view.range);
  if (view.tag) params.set('tag', view.tag);
  if (view.trackingDomain) params.set('domain', view.trackingDomain);
  if (view.audience === 'all') params.set('audience', 'all');
  if (view.message) params.set('message', view.message);
  return params;
}

/** The stats API's query for a view (apps/admin/README.md, "The numbers"); the API picks hours or days. */
export function statsQueryOf(view: NumbersView): URLSearchParams {
  const query = new URLSearchParams();
  if (view.range === 'custom') {
    query.set('from', view.from);
    query.set('to', nextDay(view.to)); // the last day picked is included: the API's range is [from, to)
  } else query.set('range', view.range);
  if (view.tag) query.set('tag', view.tag);
  if (view.trackingDomain) query.set('trackingDomain', view.trackingDomain);
  query.set('audience', view.audience);
  return query;
}

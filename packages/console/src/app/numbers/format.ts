/* How the numbers read: grouped digits, rates as percentages, times in UTC (the API's days are UTC days). */

const count = new Intl.NumberFormat('en-US');
const percent = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const utc = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const utcDate = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

export const formatCount = (n: number) => count.format(n);
/** A rate, or an en dash where there is nothing to divide by. */
export const formatRate = (rate: number | null) => (rate === null ? '–' : percent.format(rate));
export const formatUtcTime = (iso: string) => `${utc.format(new Date(iso))} UTC`;
export const formatUtcDate = (iso: string) => utcDate.format(new Date(iso));

/** The aggregator's machine reasons (apps/aggregator/README.md, "People and machines"), in words. */
const REASONS: Record<string, string> = {
  'non-get': 'Link checker (not a GET request)',
  'no-user-agent': 'No user agent',
  prefetch: 'Prefetch or preview',
  'apple-mpp': 'Apple Mail Privacy Protection',
  'gmail-prefetch': 'Gmail image prefetch',
  'scanner-agent': 'Mail security scanner',
  bot: 'Bot, crawler or script',
  'before-send': 'Before the message was sent',
  'early-click': 'Clicked seconds after sending (gateway)',
  burst: 'Several links at once (scanner)',
};

export const reasonLabel = (reason: string) => REASONS[reason] ?? reason;

/** A URL as a person reads it: no scheme, no trailing slash, the middle elided past `max` characters. */
export function readableUrl(url: string, max = 72): string {
  const bare = url.replace(/^https?:\/\//i, '').replace(/\/$/, '');
  if (bare.length <= max) return bare;
  const head = Math.ceil((max - 1) * 0.65);
  return `${bare.slice(0, head)}…${bare.slice(bare.length - (max - 1 - head))}`;
}

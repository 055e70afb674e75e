import { InvalidPayloadError } from '../src/payloads';
import { parseStatsQuery } from '../src/stats-inputs';

const NOW = Date.UTC(2026, 10, 20, 9, 30);

function issues(data: unknown): string[] {
  try {
    parseStatsQuery(data, NOW);
  } catch (error) {
    if (error instanceof InvalidPayloadError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error('expected the query to be refused');
}

describe('parseStatsQuery', () => {
  test('nothing is the last 7 whole UTC days, people, by day; today is hour by hour', () => {
    expect(parseStatsQuery({}, NOW)).toEqual({
      from: new Date('2026-11-14T00:00:00Z'), to: new Date('2026-11-21T00:00:00Z'), audience: 'people', by: 'day', limit: 20,
    });
    expect(parseStatsQuery({ range: 'today', audience: 'all' }, NOW)).toMatchObject({ from: new Date('2026-11-20T00:00:00Z'), to: new Date('2026-11-21T00:00:00Z'), by: 'hour', audience: 'all' });
    expect(parseStatsQuery({ range: '30d' }, NOW).from).toEqual(new Date('2026-10-22T00:00:00Z'));
  });

  test('from and to: dates are midnight UTC, datetimes UTC unless they carry an offset; to defaults to now', () => {
    expect(parseStatsQuery({ from: '2026-11-19', to: '2026-11-20T06:00:00+02:00', tag: 'promo', trackingDomain: 'Click.Example.com.', by: 'day', limit: '5' }, NOW)).toEqual({
      from: new Date('2026-11-19T00:00:00Z'), to: new Date('2026-11-20T04:00:00Z'), tag: 'promo', trackingDomain: 'click.example.com', audience: 'people', by: 'day', limit: 5,
    });
    expect(parseStatsQuery({ from: '2026-11-20T08:00:00' }, NOW)).toMatchObject({ from: new Date('2026-11-20T08:00:00Z'), to: new Date(NOW), by: 'hour' });
  });

  test('every bad field is named', () => {
    expect(issues({ from: 'yesterday', audience: 'bots', by: 'week', limit: '0', tag: 'a\u001bb', trackingDomain: 'not a host', other: '1' })).toEqual([
      'from: must be a date (2026-11-20, midnight UTC) or a date and time (2026-11-20T09:30:00Z; UTC unless it has an offset)',
      'tag: must not contain control characters',
      'trackingDomain: must be a domain name such as click.example.com',
      'audience: must be people (machines left out, the default) or all',
      'by: must be hour or day',
      'limit: must be a whole number from 1 to 500',
      '(root): Unrecognized key: "other"',
    ]);
    expect(issues({ range: '7d', from: '2026-11-01' })).toEqual(['range: give either range or from/to, not both']);
    expect(issues({ to: '2026-11-01' })).toEqual(['from: is needed with to']);
    expect(issues({ from: '2026-11-02', to: '2026-11-01' })).toEqual(['to: must be after from']);
    expect(issues({ from: '2025-01-01', to: '2026-11-01' })).toEqual(['to: the range must be at most 400 days']);
    expect(issues({ from: '2026-10-01', to: '2026-11-15', by: 'hour' })).toEqual(['by: hour is for ranges of at most 31 days (use day)']);
  });
});

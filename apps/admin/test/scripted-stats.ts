import { StatsWriter } from '@mailbeacon/aggregate';
import { EventPartitions, type Database, type Kysely } from '@mailbeacon/db';
import { clickEventFixture as click, fixtureToken, messageEventFixture as message, openEventFixture as open } from '@mailbeacon/testing';

/*
 * A small scripted send → open → click, written through the aggregator's real StatsWriter, for
 * the tests that read the numbers back through the admin API (stats-api, api-keys, openapi):
 * they assert exact figures of these events.
 */

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2026, 10, 20, 9);
/** The UTC day of the script, as a stats query. */
export const DAY = { from: '2026-11-20', to: '2026-11-21' };
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Messages a (tag promo) and b of `server`, c of `other`. */
export const SCRIPTED = {
  a: fixtureToken('api-a'),
  b: fixtureToken('api-b'),
  c: fixtureToken('api-c'),
  aPlatformId: '<a@platform.example>',
  cPlatformId: '<c@platform.example>',
} as const;

/**
 * On `server`: a and b sent; a opened by a person and by Apple MPP, b by a bot; a clicked by a
 * person and by a link checker (HEAD), b by a person, on the same URL (link 1). On `other`: c
 * sent and opened by a person.
 */
export async function writeScriptedStats(db: Kysely<Database>, server: string, other: string): Promise<void> {
  const { a, b, c } = SCRIPTED;
  const writer = new StatsWriter(db, new EventPartitions(db));
  await writer.write([
    message(a, { at: T0, server, tag: 'promo', platformMessageId: SCRIPTED.aPlatformId }),
    message(b, { at: T0 + 10 * 60_000, server }),
    message(c, { at: T0, server: other, platformMessageId: SCRIPTED.cPlatformId }),
  ]);
  await writer.write([
    open(a, { at: T0 + 5 * 60_000, server }), // a person
    open(a, { at: T0 + 6 * 60_000, server, userAgent: 'Mozilla/5.0' }), // Apple MPP
    open(b, { at: T0 + 20 * 60_000, server, userAgent: 'curl/8.5.0' }), // a bot
    open(c, { at: T0 + 5 * 60_000, server: other }),
  ]);
  await writer.write([
    click(a, 1, { at: T0 + HOUR + 60_000, server }), // a person
    click(a, 1, { at: T0 + HOUR + 2 * 60_000, server, method: 'HEAD', userAgent: 'LinkChecker' }), // a link checker
    click(b, 1, { at: T0 + 2 * HOUR, server }), // a person, on the same URL from another message
  ]);
}

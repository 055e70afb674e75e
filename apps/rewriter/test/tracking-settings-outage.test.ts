import { openDatabase } from '@mailbeacon/db';
import { capturingLogger, OwnPostgres } from '@mailbeacon/testing';
import { startTrackingDomainCache } from '../src/tracking-settings';

/** Resolves once `records` holds a line `matching`. */
async function logged(records: Record<string, unknown>[], matching: (record: Record<string, unknown>) => boolean, what: string, ms = 60_000): Promise<Record<string, unknown>> {
  for (const end = Date.now() + ms; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
    const found = records.find(matching);
    if (found) return found;
    if (Date.now() > end) throw new Error(`not logged within ${ms} ms: ${what}\n${records.map((r) => JSON.stringify(r)).join('\n')}`);
  }
}

const WARN = 40;
const INFO = 30;

test('PostgreSQL stopped for a while: one warning with the cause, reminders, one line when it listens again; not a line per failed attempt', async () => {
  const postgres = await OwnPostgres.start();
  const url = postgres.url('mailbeacon_settings_outage');
  const db = await openDatabase(url, { maxConnections: 2 });
  const { logger, records } = capturingLogger('info');
  // Reloads every 50 ms and a reminder a second: an outage of a few seconds fails many times over.
  const cache = await startTrackingDomainCache(db, { DATABASE_URL: url, DOMAIN_REFRESH_MS: 50 }, logger, { reminderMs: 1000 });
  try {
    records.length = 0;
    await postgres.stop();
    const lost = await logged(records, (r) => r.level === WARN && String(r.msg).startsWith('not listening for tracking-domain changes'), 'the outage');
    expect(lost.msg).toContain(`PostgreSQL at ${url}`);
    expect(typeof lost.cause).toBe('string');
    // Wait (for the reminders, which count them) until the reloads and reconnections have failed many times over.
    await logged(records, (r) => r.level === WARN && Number(r.failures) >= 20, 'a reminder counting 20 failures');
    await postgres.start();
    const back = await logged(records, (r) => r.level === INFO && String(r.msg).startsWith('listening for tracking-domain changes again'), 'the line when it listens again');
    expect(Number(back.failures)).toBeGreaterThanOrEqual(20);

    const warnings = records.filter((r) => Number(r.level) >= WARN);
    expect(warnings.filter((r) => r === lost)).toHaveLength(1);
    // Every other warning is a reminder: fewer than the failures they stand for, and none a line per failure.
    for (const warning of warnings.filter((r) => r !== lost)) expect(warning.msg).toMatch(/^still not listening for tracking-domain changes after \d+ s/);
    expect(warnings.length).toBeLessThan(Number(back.failures) / 2);
    expect(records.filter((r) => r.level === INFO && r !== back)).toEqual([]);
  } finally {
    await cache.stop();
    await db.destroy();
    await postgres.destroy();
  }
}, 120_000);

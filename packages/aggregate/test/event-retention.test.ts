import { EventPartitions } from '@mailbeacon/db';
import { fixtureToken, messageEventFixture as message, openEventFixture as open, clickEventFixture as click, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { sql } from 'kysely';
import { EventRetention } from '../src/event-retention';
import { StatsWriter } from '../src/stats-writer';

const DAY = 86_400_000;
const TODAY = Date.UTC(2026, 10, 27);

let temp: TemporaryDatabase;
beforeEach(async () => {
  temp = await temporaryDatabase();
});
afterEach(async () => {
  await temp.drop();
});

async function partitionNames(partitions: EventPartitions): Promise<string[]> {
  return (await partitions.list()).map((partition) => partition.name);
}

describe('EventRetention', () => {
  test('makes partitions ahead and drops only those wholly older than the retention; counts stay', async () => {
    const partitions = new EventPartitions(temp.db);
    const writer = new StatsWriter(temp.db, partitions);
    const token = fixtureToken('r');
    // Events 40, 31, 30 and 0 days old (at noon).
    const ages = [40, 31, 30, 0];
    await writer.write([message(token, { at: TODAY - 41 * DAY }), ...ages.flatMap((age) => [open(token, { at: TODAY - age * DAY + DAY / 2 }), click(token, 0, { at: TODAY - age * DAY + DAY / 2 + 1000 })])]);

    const retention = new EventRetention(partitions, { retentionDays: 30, now: () => TODAY + 5 * 3_600_000 });
    expect(retention.cutoff()).toEqual(new Date(TODAY - 30 * DAY));
    const { dropped } = await retention.run();
    expect(dropped.map((p) => p.name).sort()).toEqual(['clicks_p20261018', 'clicks_p20261027', 'opens_p20261018', 'opens_p20261027']);
    expect(await partitionNames(partitions)).toEqual([
      'clicks_p20261028', 'opens_p20261028',
      'clicks_p20261127', 'opens_p20261127',
      'clicks_p20261128', 'opens_p20261128',
      'clicks_p20261129', 'opens_p20261129',
    ]);
    const left = await sql<{ opens: string; clicks: string }>`select (select count(*) from opens) as opens, (select count(*) from clicks) as clicks`.execute(temp.db);
    expect(left.rows[0]).toEqual({ opens: '2', clicks: '2' });
    // The aggregated numbers are not raw rows: they stay.
    expect(await temp.db.selectFrom('messages').select(['opens', 'clicks']).executeTakeFirstOrThrow()).toEqual({ opens: 4, clicks: 4 });
    const hourly = await sql<{ opens: string }>`select sum(opens) as opens from hourly_stats`.execute(temp.db);
    expect(hourly.rows[0].opens).toBe('4');

    // Running again drops nothing more, and events can still land in a dropped day (made again).
    expect((await retention.run()).dropped).toEqual([]);
    await writer.write([open(token, { at: TODAY - 40 * DAY })]);
    expect(await partitionNames(partitions)).toContain('opens_p20261018');
  });

  test('retention 0 keeps everything; partitions of an operator\'s own naming are left alone', async () => {
    const partitions = new EventPartitions(temp.db);
    await partitions.ensure([TODAY - 400 * DAY]);
    await sql`create table opens_archive partition of opens for values from ('2020-01-01') to ('2020-02-01')`.execute(temp.db);
    const keepAll = new EventRetention(partitions, { retentionDays: 0, now: () => TODAY });
    expect(keepAll.cutoff()).toBeNull();
    expect((await keepAll.run()).dropped).toEqual([]);
    const strict = new EventRetention(partitions, { retentionDays: 1, now: () => TODAY });
    expect((await strict.run()).dropped.map((p) => p.name).sort()).toEqual(['clicks_p20251023', 'opens_p20251023']);
    const all = await sql<{ relname: string }>`select relname from pg_class where relname like 'opens_%' and relkind = 'r' order by relname`.execute(temp.db);
    expect(all.rows.map((r) => r.relname)).toContain('opens_archive');
  });

  test('several aggregators making the same partitions at once all succeed', async () => {
    const days = Array.from({ length: 5 }, (_, i) => TODAY + i * DAY);
    await Promise.all(Array.from({ length: 4 }, () => new EventPartitions(temp.db).ensure(days)));
    expect(await partitionNames(new EventPartitions(temp.db))).toHaveLength(10);
  });

  test('rejects a retention that is not a whole number of days', () => {
    const partitions = new EventPartitions(temp.db);
    expect(() => new EventRetention(partitions, { retentionDays: -1 })).toThrow(RangeError);
    expect(() => new EventRetention(partitions, { retentionDays: 1.5 })).toThrow(RangeError);
  });
});

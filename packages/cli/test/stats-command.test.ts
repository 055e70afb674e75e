import { StatsWriter } from '@mailbeacon/aggregate';
import { EventPartitions, ServerRepository } from '@mailbeacon/db';
import {
  clickEventFixture as click,
  fixtureToken,
  linkUrl,
  messageEventFixture as message,
  openEventFixture as open,
  temporaryDatabase,
  type TemporaryDatabase,
} from '@mailbeacon/testing';
import { runCli } from '../src/main';

/* `mailbeacon stats` over a real PostgreSQL filled through the aggregator's real StatsWriter. */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 9);
const DAY = ['--since', '2026-11-20', '--until', '2026-11-21'];

let temp: TemporaryDatabase;
let news: string;
let quiet: string;

beforeAll(async () => {
  temp = await temporaryDatabase();
  const servers = new ServerRepository(temp.db);
  news = (await servers.create('Newsletters')).token;
  quiet = (await servers.create('Quiet \u001b[31m')).token;
  const writer = new StatsWriter(temp.db, new EventPartitions(temp.db));
  const [a, b] = [fixtureToken('cli-a'), fixtureToken('cli-b')];
  await writer.write([message(a, { at: T0, server: news, tag: 'promo' }), message(b, { at: T0, server: news, tag: 'red\u001b[31m' })]);
  await writer.write([
    open(a, { at: T0 + 5 * 60_000, server: news }),
    open(a, { at: T0 + 6 * 60_000, server: news, userAgent: 'Mozilla/5.0' }),
    click(a, 2, { at: T0 + HOUR, server: news }),
    click(b, 2, { at: T0 + HOUR, server: news, method: 'HEAD' }),
  ]);
});

afterAll(async () => {
  await temp.drop();
});

const run = (args: string[]) => runCli({ args: ['stats', ...args], env: { DATABASE_URL: temp.url }, readStdin: async () => Buffer.alloc(0) });
const rows = (stdout: string | Buffer) => stdout.toString().trimEnd().split('\n').map((line) => line.split(/\s{2,}/));

describe('mailbeacon stats', () => {
  test('without --server: one line per server, people only, control characters escaped', async () => {
    const out = await run(DAY);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(rows(out.stdout)).toEqual([
      ['people (machines left out; --all for everything), 2026-11-20T00:00:00.000Z to 2026-11-21T00:00:00.000Z (UTC)'],
      ['SERVER', 'NAME', 'SENT', 'OPENED', 'OPEN RATE', 'CLICKED', 'CLICK RATE', 'CLICK/OPEN', 'OPENS', 'CLICKS', 'MACHINE OPENS', 'MACHINE CLICKS'],
      [news, 'Newsletters', '2', '1', '50.0%', '1', '50.0%', '100.0%', '1', '1', '50.0%', '50.0%'],
      [quiet, 'Quiet \\u001b[31m', '0', '0', '-', '0', '-', '-', '0', '0', '-', '-'],
    ]);
  });

  test('--server: the summary and the machines by reason; --json is the API\'s answer', async () => {
    const out = await run(['--server', news, ...DAY, '--all']);
    expect(out.code).toBe(0);
    expect(out.stdout.toString().split('\n').slice(-3)).toEqual(['machine opens by reason: apple-mpp 1', 'machine clicks by reason: non-get 1', '']);
    expect(rows(out.stdout)[2]).toEqual([news, 'Newsletters', '2', '1', '50.0%', '2', '100.0%', '200.0%', '2', '2', '50.0%', '50.0%']);
    const json = JSON.parse((await run(['--server', news, ...DAY, '--json'])).stdout.toString());
    expect(json).toEqual({
      server: news, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z', audience: 'people',
      messages: 2, opens: 1, uniqueOpens: 1, clicks: 1, uniqueClicks: 1, openRate: 0.5, clickRate: 0.5, clickToOpenRate: 1,
      machines: { opens: 1, clicks: 1, openShare: 0.5, clickShare: 0.5, openReasons: [{ reason: 'apple-mpp', hits: 1 }], clickReasons: [{ reason: 'non-get', hits: 1 }] },
    });
  });

  test('--by hour, tag and link', async () => {
    const hours = await run(['--server', news, '--since', '2026-11-20T09:00:00Z', '--until', '2026-11-20T11:00:00Z', '--by', 'hour']);
    expect(rows(hours.stdout).slice(1)).toEqual([
      ['HOUR', 'SENT', 'OPENED', 'CLICKED', 'OPENS', 'CLICKS'],
      ['2026-11-20T09:00:00.000Z', '2', '1', '0', '1', '0'],
      ['2026-11-20T10:00:00.000Z', '0', '0', '1', '0', '1'],
    ]);
    const tags = await run(['--server', news, ...DAY, '--by', 'tag']);
    expect(rows(tags.stdout).slice(1)).toEqual([
      ['TAG', 'SENT', 'OPENED', 'OPEN RATE', 'CLICKED', 'CLICK RATE', 'OPENS', 'CLICKS'],
      ['promo', '1', '1', '100.0%', '1', '100.0%', '1', '1'],
      ['red\\u001b[31m', '1', '0', '0.0%', '0', '0.0%', '0', '0'],
    ]);
    const links = await run(['--server', news, ...DAY, '--by', 'link', '--all']);
    expect(rows(links.stdout).slice(1)).toEqual([['CLICKS', 'ALL', 'URL'], ['2', '2', linkUrl(2)]]);
    const json = JSON.parse((await run(['--server', news, ...DAY, '--by', 'link', '--json'])).stdout.toString());
    expect(json.links).toEqual([{ url: linkUrl(2), clicks: 1, allClicks: 2 }]);
  });

  test('mistakes name the option', async () => {
    expect(await run(['--since', 'yesterday'])).toMatchObject({ code: 2, stderr: expect.stringContaining('mailbeacon stats: --since: must be a date') });
    expect(await run(['--since', '2026-11-02', '--until', '2026-11-01'])).toMatchObject({ code: 2, stderr: 'mailbeacon stats: --until: must be after from\n' });
    expect(await run(['--by', 'week', '--server', news])).toMatchObject({ code: 2, stderr: expect.stringContaining('--by must be one of hour, day, tag, link') });
    expect(await run(['--by', 'tag'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--by needs --server') });
    expect(await run(['--server', 'AAAAAAAAAAAA'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no server with token AAAAAAAAAAAA') });
  });
});

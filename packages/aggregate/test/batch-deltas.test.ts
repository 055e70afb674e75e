import { computeBatchDeltas, type BatchFacts, type MessageState } from '../src/batch-deltas';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 9);

function state(token: string, overrides: Partial<MessageState> = {}): MessageState {
  return {
    token, server: 'srv', known: true, platformMessageId: `<${token}>`, recipient: null, tag: 'news', trackingDomain: 'click.example.com',
    linkCount: 3, pixel: true, sentAt: T0, opens: 0, humanOpens: 0, clicks: 0, humanClicks: 0,
    firstOpenedAt: null, lastOpenedAt: null, firstHumanOpenedAt: null, firstClickedAt: null, lastClickedAt: null, firstHumanClickedAt: null,
    ...overrides,
  };
}

function facts(overrides: Partial<BatchFacts>): BatchFacts {
  return {
    states: new Map(), arrivals: new Map(), newOpens: [], newClicks: [], reclassified: [],
    backlogOpens: [], backlogClicks: [], recomputedFirstHumanClick: new Map(), ...overrides,
  };
}

const hourlyOf = (deltas: ReturnType<typeof computeBatchDeltas>) =>
  deltas.hourly.map(({ server, trackingDomain, tag, hour, ...counts }) => ({
    key: `${server}/${trackingDomain}/${tag}/+${(hour - T0) / HOUR}h`,
    ...Object.fromEntries(Object.entries(counts).filter(([, value]) => value !== 0)),
  }));

describe('computeBatchDeltas', () => {
  test('new events of a known message: counters, first/last, hourly by the hour of each event', () => {
    const deltas = computeBatchDeltas(facts({
      states: new Map([['a', state('a')]]),
      newOpens: [{ token: 'a', at: T0 + 10_000, machine: true }, { token: 'a', at: T0 + HOUR + 5, machine: false }],
      newClicks: [{ token: 'a', at: T0 + HOUR + 10, linkIndex: 1, url: 'https://x.example/1', machine: false }],
    }));
    expect(deltas.messages[0]).toMatchObject({
      opens: 2, humanOpens: 1, clicks: 1, humanClicks: 1,
      firstOpenedAt: T0 + 10_000, lastOpenedAt: T0 + HOUR + 5, firstHumanOpenedAt: T0 + HOUR + 5, firstClickedAt: T0 + HOUR + 10, firstHumanClickedAt: T0 + HOUR + 10,
    });
    expect(hourlyOf(deltas)).toEqual([
      { key: 'srv/click.example.com/news/+0h', opens: 1, uniqueOpens: 1 },
      { key: 'srv/click.example.com/news/+1h', opens: 1, humanOpens: 1, humanUniqueOpens: 1, clicks: 1, uniqueClicks: 1, humanClicks: 1, humanUniqueClicks: 1 },
    ]);
    expect(deltas.links).toEqual([{ token: 'a', linkIndex: 1, url: 'https://x.example/1', clicks: 1, humanClicks: 1, firstClickedAt: T0 + HOUR + 10, lastClickedAt: T0 + HOUR + 10 }]);
  });

  test('an unknown message counts on its row but not in hourly_stats; on arrival its backlog enters hourly_stats', () => {
    const placeholder = state('b', { known: false, platformMessageId: null, tag: null, trackingDomain: null, sentAt: null });
    const early = computeBatchDeltas(facts({ states: new Map([['b', placeholder]]), newOpens: [{ token: 'b', at: T0 + 2 * HOUR, machine: false }] }));
    expect(early.messages[0]).toMatchObject({ known: false, opens: 1, humanOpens: 1 });
    expect(early.hourly).toEqual([]);

    const arrived = computeBatchDeltas(facts({
      states: new Map([['b', early.messages[0]]]),
      arrivals: new Map([['b', { token: 'b', server: 'srv', platformMessageId: '<b>', recipient: null, tag: null, trackingDomain: 't.example', linkCount: 2, pixel: true, sentAt: T0 }]]),
      backlogOpens: [{ token: 'b', at: T0 + 2 * HOUR, machine: false }],
    }));
    expect(arrived.messages[0]).toMatchObject({ known: true, opens: 1, sentAt: T0, trackingDomain: 't.example' });
    expect(hourlyOf(arrived)).toEqual([
      { key: 'srv/t.example//+0h', messages: 1 },
      { key: 'srv/t.example//+2h', opens: 1, uniqueOpens: 1, humanOpens: 1, humanUniqueOpens: 1 },
    ]);
  });

  test('a click reclassified as a machine takes back its human counts, and the unique human click moves', () => {
    const before = state('c', { clicks: 2, humanClicks: 2, firstClickedAt: T0 + 60_000, lastClickedAt: T0 + 2 * HOUR, firstHumanClickedAt: T0 + 60_000 });
    const deltas = computeBatchDeltas(facts({
      states: new Map([['c', before]]),
      reclassified: [{ token: 'c', at: T0 + 60_000, linkIndex: 0, url: 'https://x.example/0', machine: true }],
      recomputedFirstHumanClick: new Map([['c', T0 + 2 * HOUR]]),
    }));
    expect(deltas.messages[0]).toMatchObject({ clicks: 2, humanClicks: 1, firstHumanClickedAt: T0 + 2 * HOUR });
    expect(hourlyOf(deltas)).toEqual([
      { key: 'srv/click.example.com/news/+0h', humanClicks: -1, humanUniqueClicks: -1 },
      { key: 'srv/click.example.com/news/+2h', humanUniqueClicks: 1 },
    ]);
    expect(deltas.links).toEqual([{ token: 'c', linkIndex: 0, url: 'https://x.example/0', clicks: 0, humanClicks: -1, firstClickedAt: null, lastClickedAt: null }]);
  });

  test('rows come out in key order, so concurrent writers lock them in one order', () => {
    const deltas = computeBatchDeltas(facts({
      states: new Map([['z', state('z', { tag: 'b' })], ['y', state('y', { tag: 'a' })]]),
      newClicks: [
        { token: 'z', at: T0, linkIndex: 2, url: 'u', machine: false },
        { token: 'y', at: T0 + HOUR, linkIndex: 5, url: 'u', machine: false },
        { token: 'y', at: T0, linkIndex: 1, url: 'u', machine: false },
      ],
    }));
    expect(deltas.links.map((l) => `${l.token}${l.linkIndex}`)).toEqual(['y1', 'y5', 'z2']);
    expect(hourlyOf(deltas).map((row) => row.key)).toEqual(['srv/click.example.com/a/+0h', 'srv/click.example.com/a/+1h', 'srv/click.example.com/b/+0h']);
  });
});

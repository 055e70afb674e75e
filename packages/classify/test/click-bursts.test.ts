import {
  findClickBursts,
  DEFAULT_BURST_MIN_LINKS,
  DEFAULT_BURST_WINDOW_MS,
} from '@mailbeacon/classify';
import type { BurstCandidate } from '@mailbeacon/classify';

const IP_A = '203.0.113.7';
const IP_B = '198.51.100.20';

/** [id, linkIndex, atMs] triples from one IP. */
function clicksFrom(ip: string | null, rows: Array<[string, number, number]>): BurstCandidate[] {
  return rows.map(([id, linkIndex, atMs]) => ({ id, ip, linkIndex, atMs }));
}

const sorted = (ids: Set<string>): string[] => [...ids].sort();

describe('findClickBursts', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_BURST_WINDOW_MS).toBe(2000);
    expect(DEFAULT_BURST_MIN_LINKS).toBe(3);
  });

  it.each<[string, Array<[string, number, number]>, string[]]>([
    ['no clicks', [], []],
    ['three links at 0, 1000, 2000 (inclusive window)', [['a', 1, 0], ['b', 2, 1000], ['c', 3, 2000]], ['a', 'b', 'c']],
    ['three links at 0, 1500, 3100', [['a', 1, 0], ['b', 2, 1500], ['c', 3, 3100]], []],
    ['three links one ms too slow', [['a', 1, 0], ['b', 2, 1000], ['c', 3, 2001]], []],
    ['three clicks on the same link', [['a', 1, 0], ['b', 1, 500], ['c', 1, 1000]], []],
    ['two distinct links, many clicks', [['a', 1, 0], ['b', 2, 100], ['c', 1, 200], ['d', 2, 300]], []],
    [
      'repeats inside a qualifying window are flagged too',
      [['a', 1, 0], ['b', 1, 100], ['c', 2, 200], ['d', 3, 300], ['e', 3, 400]],
      ['a', 'b', 'c', 'd', 'e'],
    ],
    [
      'clicks outside every qualifying window stay clean',
      [['early', 9, 0], ['a', 1, 5000], ['b', 2, 5500], ['c', 3, 6000], ['late', 4, 9000]],
      ['a', 'b', 'c'],
    ],
    [
      'a click that only a later window reaches is flagged',
      // window starting at b (1000..3000) holds b, c, d: three links; a is outside it
      [['a', 1, 0], ['b', 1, 1000], ['c', 2, 2500], ['d', 3, 3000]],
      ['b', 'c', 'd'],
    ],
    ['same timestamp, three links', [['a', 1, 50], ['b', 2, 50], ['c', 3, 50]], ['a', 'b', 'c']],
  ])('%s', (_name, rows, expected) => {
    expect(sorted(findClickBursts(clicksFrom(IP_A, rows)))).toEqual(expected);
  });

  it('does not depend on input order', () => {
    const clicks = clicksFrom(IP_A, [['c', 3, 2000], ['a', 1, 0], ['x', 7, 9000], ['b', 2, 1000]]);
    expect(sorted(findClickBursts(clicks))).toEqual(['a', 'b', 'c']);
  });

  it('never combines different IPs', () => {
    const interleaved = [
      ...clicksFrom(IP_A, [['a1', 1, 0], ['a2', 2, 600]]),
      ...clicksFrom(IP_B, [['b1', 3, 300], ['b2', 4, 900]]),
    ];
    expect(findClickBursts(interleaved).size).toBe(0);
  });

  it('finds a burst of one IP interleaved with a person on another', () => {
    const clicks = [
      ...clicksFrom(IP_A, [['a1', 1, 0], ['a2', 2, 400], ['a3', 3, 800]]),
      ...clicksFrom(IP_B, [['b1', 1, 200], ['b2', 2, 600]]),
    ];
    expect(sorted(findClickBursts(clicks))).toEqual(['a1', 'a2', 'a3']);
  });

  it('never puts a click without an IP into a burst', () => {
    const clicks = [
      ...clicksFrom(null, [['n1', 1, 0], ['n2', 2, 100], ['n3', 3, 200]]),
      ...clicksFrom(IP_A, [['a1', 4, 150]]),
    ];
    expect(findClickBursts(clicks).size).toBe(0);

    const withBurst = [...clicks, ...clicksFrom(IP_A, [['a2', 5, 250], ['a3', 6, 300]])];
    expect(sorted(findClickBursts(withBurst))).toEqual(['a1', 'a2', 'a3']);
  });

  it('honours custom options', () => {
    const clicks = clicksFrom(IP_A, [['a', 1, 0], ['b', 2, 900], ['c', 3, 1800]]);
    expect(findClickBursts(clicks, { windowMs: 1000 }).size).toBe(0);
    expect(sorted(findClickBursts(clicks, { windowMs: 1000, minDistinctLinks: 2 }))).toEqual(['a', 'b', 'c']);
    expect(findClickBursts(clicks, { minDistinctLinks: 4 }).size).toBe(0);
  });

  it('rejects nonsensical options', () => {
    expect(() => findClickBursts([], { windowMs: -1 })).toThrow(RangeError);
    expect(() => findClickBursts([], { windowMs: Number.NaN })).toThrow(RangeError);
    expect(() => findClickBursts([], { minDistinctLinks: 0 })).toThrow(RangeError);
    expect(() => findClickBursts([], { minDistinctLinks: 2.5 })).toThrow(RangeError);
  });

  it('handles a scanner clicking 200 links next to a slow reader', () => {
    // Scanner: 200 links, 10 ms apart, shuffled deterministically. Reader on another IP: one click every 5 s.
    // Checks correctness only, not speed.
    const scanner: BurstCandidate[] = [];
    for (let i = 0; i < 200; i++) {
      scanner.push({ id: `s${i}`, ip: IP_A, linkIndex: i, atMs: 60_000 + i * 10 });
    }
    const shuffled = scanner.map((_, i) => scanner[(i * 73) % 200]) // 73 is coprime to 200: a permutation;
    const reader: BurstCandidate[] = [];
    for (let i = 0; i < 200; i++) {
      reader.push({ id: `r${i}`, ip: IP_B, linkIndex: i % 5, atMs: i * 5000 });
    }

    const result = findClickBursts([...reader, ...shuffled]);
    expect(result.size).toBe(200);
    for (const c of scanner) expect(result.has(c.id)).toBe(true);
    for (const c of reader) expect(result.has(c.id)).toBe(false);
  });

  it('agrees with a brute-force check on random clicks', () => {
    // Small deterministic generator, so a failure is reproducible.
    let seed = 42;
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const clicks: BurstCandidate[] = [];
      const count = 1 + next(40);
      for (let i = 0; i < count; i++) {
        const ipPick = next(3);
        clicks.push({ id: `c${i}`, ip: ipPick === 0 ? null : `10.0.0.${ipPick}`, linkIndex: next(5), atMs: next(8000) });
      }
      expect(sorted(findClickBursts(clicks))).toEqual(sorted(bruteForceBursts(clicks, 2000, 3)));
    }
  });
});

/** O(n^2) restatement of the definition, used only to cross-check the sliding window. */
function bruteForceBursts(clicks: BurstCandidate[], windowMs: number, minLinks: number): Set<string> {
  const result = new Set<string>();
  for (const start of clicks) {
    if (start.ip === null) continue;
    const inWindow = clicks.filter(
      (c) => c.ip === start.ip && c.atMs >= start.atMs && c.atMs <= start.atMs + windowMs,
    );
    if (new Set(inWindow.map((c) => c.linkIndex)).size >= minLinks) {
      for (const c of inWindow) result.add(c.id);
    }
  }
  return result;
}

import { clickTimingReason, DEFAULT_EARLY_CLICK_MS } from '@mailbeacon/classify';

const SENT = 1_700_000_000_000;

describe('clickTimingReason', () => {
  it.each<[string, number, number | null, number | undefined, ReturnType<typeof clickTimingReason>]>([
    ['message not known yet', SENT, null, undefined, null],
    ['one ms before send', SENT - 1, SENT, undefined, 'before-send'],
    ['long before send', SENT - 60_000, SENT, undefined, 'before-send'],
    ['at the send time', SENT, SENT, undefined, 'early-click'],
    ['one ms short of the threshold', SENT + 1999, SENT, undefined, 'early-click'],
    ['exactly at the threshold', SENT + 2000, SENT, undefined, null],
    ['a minute after send', SENT + 60_000, SENT, undefined, null],
    ['custom threshold, inside', SENT + 4999, SENT, 5000, 'early-click'],
    ['custom threshold, at the edge', SENT + 5000, SENT, 5000, null],
    ['threshold 0 turns early-click off', SENT, SENT, 0, null],
  ])('%s', (_name, at, sent, early, expected) => {
    expect(clickTimingReason(at, sent, early)).toBe(expected);
  });

  it('defaults to 2000 ms', () => {
    expect(DEFAULT_EARLY_CLICK_MS).toBe(2000);
  });
});

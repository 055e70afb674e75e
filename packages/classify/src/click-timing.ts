export const DEFAULT_EARLY_CLICK_MS = 2000;

/**
 * Timing rule for clicks. A click before the send time is a scanner (Safe Links can scan before delivery);
 * one less than `earlyClickMs` after it is weak evidence. `sentAtMs` null (message not known yet) → null.
 */
export function clickTimingReason(
  atMs: number,
  sentAtMs: number | null,
  earlyClickMs: number = DEFAULT_EARLY_CLICK_MS,
): 'before-send' | 'early-click' | null {
  if (sentAtMs === null) return null;
  if (atMs < sentAtMs) return 'before-send';
  if (atMs - sentAtMs < earlyClickMs) return 'early-click';
  return null;
}

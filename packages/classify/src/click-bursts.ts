export const DEFAULT_BURST_WINDOW_MS = 2000;
export const DEFAULT_BURST_MIN_LINKS = 3;

export interface BurstCandidate {
  id: string;
  ip: string | null;
  linkIndex: number;
  atMs: number;
}

export interface BurstOptions {
  /** Length of the window, inclusive at both ends (default 2000). */
  windowMs?: number;
  /** Distinct links one IP must hit inside a window (default 3). */
  minDistinctLinks?: number;
}

/**
 * Clicks of ONE message (any order, any IPs). Returns the ids of every click that lies in some window
 * a.atMs..a.atMs+windowMs (inclusive) in which clicks from the same IP hit at least minDistinctLinks distinct
 * links. Clicks without an IP are never part of a burst: without an IP there is nothing to group by.
 *
 * O(n log n) per IP: a scanner can click hundreds of links, so sort and slide a window with a count map.
 */
export function findClickBursts(clicks: readonly BurstCandidate[], options: BurstOptions = {}): Set<string> {
  const windowMs = options.windowMs ?? DEFAULT_BURST_WINDOW_MS;
  const minDistinctLinks = options.minDistinctLinks ?? DEFAULT_BURST_MIN_LINKS;
  if (!Number.isFinite(windowMs) || windowMs < 0) {
    throw new RangeError(`windowMs must be a finite number >= 0, got ${windowMs}`);
  }
  if (!Number.isInteger(minDistinctLinks) || minDistinctLinks < 1) {
    throw new RangeError(`minDistinctLinks must be an integer >= 1, got ${minDistinctLinks}`);
  }

  const byIp = new Map<string, BurstCandidate[]>();
  for (const click of clicks) {
    if (click.ip === null) continue;
    const group = byIp.get(click.ip);
    if (group) group.push(click);
    else byIp.set(click.ip, [click]);
  }

  const inBurst = new Set<string>();
  for (const group of byIp.values()) {
    markBurstsOfOneIp(group, windowMs, minDistinctLinks, inBurst);
  }
  return inBurst;
}

function markBurstsOfOneIp(
  group: BurstCandidate[],
  windowMs: number,
  minDistinctLinks: number,
  inBurst: Set<string>,
): void {
  const sorted = [...group].sort((a, b) => a.atMs - b.atMs);
  const linkCounts = new Map<number, number>();
  let end = -1; // last index inside the current window
  let markedUpTo = -1; // last index already flagged, so each click is flagged once: O(n) overall

  // Windows starting at a click are enough: sliding any window right until its start meets a click loses
  // no click. Among clicks at the same time the first one's window is the largest, so ties need no care.
  for (let start = 0; start < sorted.length; start++) {
    const windowEnd = sorted[start].atMs + windowMs;
    while (end + 1 < sorted.length && sorted[end + 1].atMs <= windowEnd) {
      end++;
      const link = sorted[end].linkIndex;
      linkCounts.set(link, (linkCounts.get(link) ?? 0) + 1);
    }

    if (linkCounts.size >= minDistinctLinks) {
      for (let i = Math.max(start, markedUpTo + 1); i <= end; i++) inBurst.add(sorted[i].id);
      markedUpTo = Math.max(markedUpTo, end);
    }

    const leaving = sorted[start].linkIndex;
    const left = (linkCounts.get(leaving) ?? 0) - 1;
    if (left === 0) linkCounts.delete(leaving);
    else linkCounts.set(leaving, left);
  }
}

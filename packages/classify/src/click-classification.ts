import type { Classification } from './machine-reasons';

/**
 * Final click classification: the request rules first, then timing, then burst.
 *
 * A click less than the early-click threshold after the send time is a machine on its own: the
 * send time is when the rewriter stamped the message, and within two seconds of it the message
 * can at most have reached the recipient's gateway (where Safe Links & co. scan), not a person
 * who opened it and clicked. The reference calls this weak evidence because it catches few
 * scanners (most click 20 s to 5 min later), not because it catches people; the threshold is
 * configurable for platforms whose send time is set differently.
 */
export function classifyClick(
  request: Classification,
  timing: 'before-send' | 'early-click' | null,
  inBurst: boolean,
): Classification {
  // Image proxies fetch opens, never clicks, so a click never carries a proxy.
  if (request.machine) return { ...request, proxy: null };
  if (timing === 'before-send') return { machine: true, reason: 'before-send', proxy: null };
  if (timing === 'early-click') return { machine: true, reason: 'early-click', proxy: null };
  if (inBurst) return { machine: true, reason: 'burst', proxy: null };
  return { machine: false, reason: null, proxy: null };
}

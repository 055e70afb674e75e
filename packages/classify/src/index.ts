export { MACHINE_REASONS } from './machine-reasons';
export type { MachineReason, ImageProxy, Classification } from './machine-reasons';
export { classifyHit } from './hit-classification';
export type { HitSignals } from './hit-classification';
export { clickTimingReason, DEFAULT_EARLY_CLICK_MS } from './click-timing';
export { findClickBursts, DEFAULT_BURST_WINDOW_MS, DEFAULT_BURST_MIN_LINKS } from './click-bursts';
export type { BurstCandidate, BurstOptions } from './click-bursts';
export { classifyClick } from './click-classification';
export {
  APPLE_MPP_AGENT,
  GMAIL_PREFETCH_AGENT,
  SCANNER_AGENT_MARKS,
} from './agents';

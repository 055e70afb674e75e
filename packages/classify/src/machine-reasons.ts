/** Why an event was judged to come from a machine. */
export type MachineReason =
  | 'non-get'
  | 'no-user-agent'
  | 'prefetch'
  | 'apple-mpp'
  | 'gmail-prefetch'
  | 'scanner-agent'
  | 'bot'
  | 'before-send'
  | 'early-click'
  | 'burst';

/** Every reason, in the order the rules are applied, so docs and metrics list them the same way. */
export const MACHINE_REASONS: readonly MachineReason[] = Object.freeze([
  'non-get',
  'no-user-agent',
  'prefetch',
  'apple-mpp',
  'gmail-prefetch',
  'scanner-agent',
  'bot',
  'before-send',
  'early-click',
  'burst',
] as const);

/** Image proxies that fetch an open on a reader's behalf. */
export type ImageProxy = 'apple' | 'google' | 'yahoo';

export interface Classification {
  machine: boolean;
  /** null iff machine === false. */
  reason: MachineReason | null;
  /** Which image proxy fetched an open (opens only), else null. */
  proxy: ImageProxy | null;
}

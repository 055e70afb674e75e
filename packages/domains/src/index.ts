export { selectTrackingDomain, parentDomain } from './select-tracking-domain';
export type { Selection, SelectableDomain } from './select-tracking-domain';
export { senderDomain } from './sender-domain';
export { TrackingDomainCache } from './tracking-domain-cache';
export type { TrackingSettingsSource, TrackingSettingsChanges, TrackingDomainCacheOptions } from './tracking-domain-cache';
export type { DomainCheckOptions, DomainCheckStep, DomainCheckResult, CheckTrackingDomain } from './domain-check-types';
export { checkTrackingDomain } from './domain-check';

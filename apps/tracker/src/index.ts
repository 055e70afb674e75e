export { createTrackerApp, TRANSPARENT_GIF, DEFAULT_PUBLISH_TIMEOUT_MS, MAX_USER_AGENT_LENGTH } from './tracker-app';
export type { TrackerAppOptions, TrackerLogger } from './tracker-app';
export type { EventSink } from './event-sink';
export { TrackerMetrics, METRIC_PREFIX, METRIC_NAMES, TRACKER_ROUTES, DURATION_BUCKETS } from './metrics';
export type { TrackerMetricsOptions, GaugeDefinition, TrackerRoute, HitType, EventFailureReason } from './metrics';
export { storedAddress, normalizeAddress, truncateAddress, isIpStorage, IP_STORAGE_POLICIES } from './client-address';
export type { IpStorage } from './client-address';
export {
  loadTrackerConfig,
  DEFAULT_TRACKER_PORT,
  DEFAULT_TRACKER_HOST,
  DEFAULT_TRACK_HOST_HEADER,
  DEFAULT_TRUST_PROXY,
  DEFAULT_IP_STORAGE,
  DEFAULT_SPOOL_DIR,
} from './config';
export type { TrackerConfig, TrustProxy } from './config';
export { startTracker, TRACKER_MAX_HEADER_BYTES, TRACKER_SERVER_OPTIONS } from './tracker';
export type { RunningTracker, StartTrackerOptions } from './tracker';

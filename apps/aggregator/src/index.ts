export { startAggregator } from './aggregator';
export type { AggregatorStats, RunningAggregator } from './aggregator';
export { loadAggregatorConfig } from './config';
export type { AggregatorConfig } from './config';
export { AggregatorMetrics, METRIC_PREFIX, METRIC_NAMES, EVENT_TYPES, QUEUE_STATES, LAG_BUCKETS, BATCH_SIZE_BUCKETS, BATCH_DURATION_BUCKETS } from './metrics';
export type { AggregatorMetricsOptions, WatchedQueue, EventType, FailureReason } from './metrics';
export { DEFAULT_AGGREGATOR_METRICS_PORT, DEFAULT_METRICS_HOST } from './config';

export { startRewriter } from './rewriter';
export type { RunningRewriter } from './rewriter';
export { loadRewriterConfig } from './config';
export type { RewriterConfig } from './config';
export { RewriteJob } from './rewrite-job';
export { createRewritePool } from './rewrite-pool';
export { RewriterMetrics, METRIC_PREFIX, METRIC_NAMES, SKIP_REASONS, QUEUE_STATES, JOB_DURATION_BUCKETS, skipReason } from './metrics';
export type { RewriterMetricsOptions, CountingQueue, JobOutcome, SkipReason } from './metrics';
export { DEFAULT_REWRITER_METRICS_PORT, DEFAULT_METRICS_HOST } from './config';

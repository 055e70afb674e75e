export { StatsWriter } from './stats-writer';
export type { ClassificationSettings, TypeWriteSummary, WriteSummary } from './stats-writer';
export { computeBatchDeltas } from './batch-deltas';
export type { BatchDeltas, BatchFacts, ClickFact, HourlyDelta, LinkDelta, MessageArrival, MessageState, OpenFact } from './batch-deltas';
export { EventBatcher, BatcherClosedError } from './event-batcher';
export type { EventBatcherOptions } from './event-batcher';
export { EventRetention } from './event-retention';
export type { EventRetentionOptions, RetentionResult } from './event-retention';
export { isTransientDatabaseError } from './postgres-errors';

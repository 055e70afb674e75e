export { startAggregator } from './aggregator';
export type { AggregatorStats, RunningAggregator } from './aggregator';
export { loadAggregatorConfig } from './config';
export type { AggregatorConfig } from './config';

import { runService } from '@mailbeacon/service';
import { startAggregator } from './aggregator';
import { loadAggregatorConfig } from './config';

/** The aggregator process: see runService for exit codes and signals (SIGTERM writes the batches in hand). */
void runService({ name: 'aggregator', loadConfig: () => loadAggregatorConfig(), logLevel: (config) => config.LOG_LEVEL, start: startAggregator });

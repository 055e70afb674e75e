import { runService } from '@mailbeacon/service';
import { startAggregator } from './aggregator';
import { loadAggregatorConfig } from './config';

/** The aggregator process: see runService for exit codes and signals (SIGTERM writes the batches in hand). */
void runService({
  name: 'aggregator',
  loadConfig: () => loadAggregatorConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: startAggregator,
  // The batches in hand get SHUTDOWN_TIMEOUT_MS; the connections then close at once.
  stopTimeoutMs: (config) => config.SHUTDOWN_TIMEOUT_MS + 10_000,
});

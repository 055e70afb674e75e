import { runService } from '@mailbeacon/service';
import { loadTrackerConfig } from './config';
import { startTracker } from './tracker';

/** The tracker process: see runService for exit codes and signals (SIGTERM drains pending events). */
void runService({ name: 'tracker', loadConfig: () => loadTrackerConfig(), logLevel: (config) => config.logLevel, start: (config, logger) => startTracker(config, logger) });

import { runService } from '@mailbeacon/service';
import { loadRewriterConfig } from './config';
import { startRewriter } from './rewriter';

/** The rewriter process: see runService for exit codes and signals (SIGTERM finishes the jobs in hand). */
void runService({ name: 'rewriter', loadConfig: () => loadRewriterConfig(), logLevel: (config) => config.LOG_LEVEL, start: startRewriter });

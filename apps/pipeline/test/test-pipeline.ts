import path from 'node:path';
import { freePort, TEST_REDIS_URL } from '@mailbeacon/testing';
import { REPO_ROOT } from '../src/config';
import { startPipeline, type RunningPipeline } from '../src/pipeline';

/** Test support: the whole pipeline on a database, a BullMQ prefix and free ports of the test's own. */

export interface TestPipelineOptions {
  databaseUrl: string;
  queuePrefix: string;
  /** A temporary directory for the tracker's spool and the signing key. */
  dir: string;
  /** More environment for the apps. */
  env?: NodeJS.ProcessEnv;
  restartDelayMs?: number;
}

export interface TestPipeline {
  pipeline: RunningPipeline;
  trackerPort: number;
  adminPort: number;
  /** Everything the supervisor printed (the apps' JSON log lines, each with its app's `name`). */
  log: string[];
}

export async function startTestPipeline(options: TestPipelineOptions): Promise<TestPipeline> {
  const [trackerPort, adminPort, rewriterMetrics, aggregatorMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const log: string[] = [];
  const pipeline = await startPipeline({
    root: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      QUEUE_PREFIX: options.queuePrefix,
      REDIS_URL: TEST_REDIS_URL,
      DATABASE_URL: options.databaseUrl,
      TRACKER_PORT: String(trackerPort),
      ADMIN_PORT: String(adminPort),
      REWRITER_METRICS_PORT: String(rewriterMetrics),
      AGGREGATOR_METRICS_PORT: String(aggregatorMetrics),
      SPOOL_DIR: path.join(options.dir, 'spool'),
      ...options.env,
    },
    redisUrl: TEST_REDIS_URL,
    databaseUrl: options.databaseUrl,
    secretFile: path.join(options.dir, 'secret'),
    logFormat: 'json',
    restartDelayMs: options.restartDelayMs,
    print: (line) => log.push(line),
  });
  return { pipeline, trackerPort, adminPort, log };
}

/**
 * Polls `attempt` (every 100 ms) until it gives a value: what the tests await is a row in the
 * aggregator's tables or a message on a queue. The error names what was awaited, with the
 * pipeline's last lines.
 */
export async function untilPipeline<T>(what: string, log: string[], attempt: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s; the pipeline's last lines:\n${log.slice(-30).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

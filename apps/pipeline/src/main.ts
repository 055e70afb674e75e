import { ConfigError } from '@mailbeacon/contracts';
import { AppsStartError } from './app-process';
import { loadPipelineConfig } from './config';
import { formatLogLine, jsonLogLine } from './log-lines';
import { describeRunning, startPipeline, type RunningPipeline } from './pipeline';
import { PreflightError } from './preflight';

/*
 * `npm start`: the whole pipeline on this machine. Output is for a person at a terminal:
 * plain lines, no stack traces for the problems a person can fix (Redis or PostgreSQL not
 * there, bad configuration, a port taken); exit 78 on bad configuration, 1 when it cannot
 * start, 0 after Ctrl-C / SIGTERM once every app has stopped.
 */
/** The supervisor's own name in LOG_FORMAT=json lines. */
const SUPERVISOR_NAME = 'mailbeacon';
let print = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string, code: number) => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};

async function main(): Promise<void> {
  let config;
  try {
    config = loadPipelineConfig();
  } catch (error) {
    if (error instanceof ConfigError) return fail(`mailbeacon: bad configuration:\n${error.message}`, 78);
    throw error;
  }
  if (config.LOG_FORMAT === 'json') {
    const write = print;
    print = (line) => write(jsonLogLine(SUPERVISOR_NAME, line));
  }

  let pipeline: RunningPipeline | undefined;
  let starting: Promise<unknown> = Promise.resolve();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer.
      for (const app of pipeline?.apps.values() ?? []) app.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    print(`${signal}: stopping (the apps finish what they hold; Ctrl-C again to kill them)`);
    // Ctrl-C while starting: let the start finish (or fail), then stop what runs.
    void starting
      .catch(() => {})
      .then(() => pipeline?.stop())
      .then(() => {
        print('stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    const started = startPipeline({
      root: config.root,
      env: process.env,
      redisUrl: config.REDIS_URL,
      databaseUrl: config.DATABASE_URL,
      secretFile: config.secretFile,
      logFormat: config.LOG_FORMAT,
      print,
    });
    starting = started;
    pipeline = await started;
  } catch (error) {
    if (stopping) return;
    if (error instanceof ConfigError) return fail(`mailbeacon: bad configuration:\n${error.message}`, 78);
    if (error instanceof PreflightError) return fail(`mailbeacon cannot start:\n${error.message}`, 1);
    if (error instanceof AppsStartError) {
      const reports = error.failures.map((failure) => [`${failure.message}:`, ...failure.lastLines.map((line) => `  ${formatLogLine(failure.app, line)}`)].join('\n'));
      return fail(`mailbeacon cannot start:\n${reports.join('\n')}`, error.exitCode);
    }
    throw error;
  }
  if (stopping) return; // Ctrl-C came while starting: stop() takes it from here
  print(describeRunning(pipeline).join('\n')); // one write: the block arrives whole
}

void main();

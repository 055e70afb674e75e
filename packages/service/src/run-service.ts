import { ConfigError } from '@mailbeacon/contracts';
import { pino, type Logger } from 'pino';

/** A start-up failure the operator must fix (database unreachable, port taken): its message is one line. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** One line, whatever the error: pg reports refused dual-stack connects as an AggregateError with no message. */
export function describeError(error: unknown): string {
  const { message, code, errors } = error as { message?: string; code?: string; errors?: unknown[] };
  const text = message || (errors ?? []).map((inner) => (inner as Error).message).join('; ') || code || String(error);
  return text.replace(/\s+/g, ' ').trim();
}

/** `what: error` in one line, without naming `what` twice (withTimeout's errors name it already). */
export function describeErrorOf(what: string, error: unknown): string {
  const text = describeError(error);
  return text.startsWith(`${what}:`) ? text : `${what}: ${text}`;
}

export interface RunningService {
  /** Finishes the work in hand, then closes every connection. */
  close(): Promise<void>;
}

export interface ServiceDefinition<C> {
  /** e.g. `rewriter`: the logger's name and the prefix of messages. */
  name: string;
  loadConfig(): C;
  logLevel(config: C): string;
  start(config: C, logger: Logger): Promise<RunningService>;
}

/**
 * Runs a process: exit 78 on bad configuration (every bad variable listed), 1 when it cannot
 * start (one line, no stack), 0 after a clean stop on SIGTERM/SIGINT (work in hand finished).
 */
export async function runService<C>(service: ServiceDefinition<C>): Promise<void> {
  let config: C;
  try {
    config = service.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mailbeacon ${service.name}: bad configuration:\n${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // Logs go to stdout. Should the reader go away (a broken pipe), the process must not block
  // on it: pino's writer reports the error here, and the logger goes quiet instead of retrying.
  const destination = pino.destination({ fd: 1, sync: true });
  const logger = pino({ name: service.name, level: service.logLevel(config) }, destination);
  destination.on('error', () => {
    logger.level = 'silent';
  });
  // pino writes asynchronously: flush before exiting, or the last lines are lost.
  const exit = (code: number) => {
    // The flush callback never comes when stdout is gone (a supervisor killed): exit anyway.
    setTimeout(() => process.exit(code), 2000);
    logger.flush(() => process.exit(code));
  };
  // Signals are handled from the start: one arriving while the service starts stops it once
  // it has started (instead of killing it half-way through).
  let started: Promise<RunningService | undefined> | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the work in hand');
    (started ?? Promise.resolve(undefined))
      .then((running) => running?.close())
      .then(
        () => exit(0),
        (error) => {
          logger.error({ err: error }, 'unclean stop');
          exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started by a supervisor with an IPC channel (npm start): when it goes away, even killed
  // with SIGKILL, the channel closes and this process stops too instead of running orphaned.
  // Its stdout went with it: writing there would fail (pino's synchronous writer retries a
  // broken pipe forever), and nobody reads it any more, so the logger goes quiet first.
  if (typeof process.send === 'function') {
    process.once('disconnect', () => {
      logger.level = 'silent';
      stop('supervisor gone');
    });
  }

  started = service.start(config, logger).catch((error) => {
    if (error instanceof StartupError) {
      logger.fatal(error.message);
      exit(1);
      return new Promise<never>(() => {}); // exiting
    }
    throw error;
  });
  await started;
}

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
  /**
   * `stopping` is aborted on SIGTERM/SIGINT: a start that waits (for Redis, say) gives up at
   * once instead of holding the signal until it is done.
   */
  start(config: C, logger: Logger, stopping: AbortSignal): Promise<RunningService>;
  /** close() taking longer than this ends the process anyway, exit 1 (default 30 s). */
  stopTimeoutMs?(config: C): number;
}

/** The reason `stopping` is aborted with: not an error, the process was told to stop. */
export class StopRequested extends Error {
  override readonly name = 'StopRequested';
}

/**
 * Runs a process: exit 78 on bad configuration (every bad variable listed), 1 when it cannot
 * start (one line, no stack), 0 after a clean stop on SIGTERM/SIGINT (work in hand finished),
 * also when the signal came while it was still starting; 1 when the stop takes longer than
 * `stopTimeoutMs` (something it waits on does not answer: the process must still end).
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
  const stopping = new AbortController();
  const stopTimeoutMs = service.stopTimeoutMs?.(config) ?? 30_000;
  const stop = (signal: string) => {
    if (stopping.signal.aborted) return;
    logger.info({ signal }, 'stopping: finishing the work in hand');
    stopping.abort(new StopRequested(`${signal} while starting`));
    setTimeout(() => {
      logger.error({ stopTimeoutMs }, `not stopped after ${stopTimeoutMs / 1000} s (something it waits on does not answer): exiting anyway`);
      exit(1);
    }, stopTimeoutMs).unref();
    (started ?? Promise.resolve(undefined))
      .then(
        (running) => running?.close(),
        (error: unknown) => {
          // The start gave up because of the signal: nothing was taken on, nothing to finish.
          if (error instanceof StopRequested) logger.info('stopped before it had started');
          else throw error;
        },
      )
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

  started = service.start(config, logger, stopping.signal).catch((error) => {
    if (stopping.signal.aborted) throw error; // stop() reports it
    if (error instanceof StartupError) {
      logger.fatal(error.message);
      exit(1);
      return new Promise<never>(() => {}); // exiting
    }
    throw error;
  });
  await started.catch((error: unknown) => {
    if (!stopping.signal.aborted) throw error;
  });
}

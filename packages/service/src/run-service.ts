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
  const logger = pino({ name: service.name, level: service.logLevel(config) });
  let running: RunningService;
  try {
    running = await service.start(config, logger);
  } catch (error) {
    if (error instanceof StartupError) {
      logger.fatal(error.message);
      process.exit(1);
    }
    throw error;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing the work in hand');
    running.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

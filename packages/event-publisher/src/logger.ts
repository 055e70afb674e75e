/**
 * The little the publisher and the spool need from a logger. A pino Logger fits as is; the
 * details object comes first (pino's convention), errors under `err`.
 */
export interface Logger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/**
 * Used when none is given. Not a silent one: a line set aside or a failed store must reach an
 * operator somehow, even from a caller that forgot to pass its logger.
 */
export const consoleLogger: Logger = {
  info: (details, message) => console.info(message, details),
  warn: (details, message) => console.warn(message, details),
  error: (details, message) => console.error(message, details),
};

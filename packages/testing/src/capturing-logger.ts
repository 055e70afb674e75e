import { Writable } from 'node:stream';
import { pino, type Level, type Logger } from 'pino';

/** A pino logger writing its records to an array, to see what was logged. */
export function capturingLogger(level: Level = 'debug'): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { logger: pino({ level }, stream), records };
}

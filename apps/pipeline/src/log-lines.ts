/*
 * The apps log pino JSON, one object per line. `npm start` is for people at a terminal, so
 * each line becomes `time  app  LEVEL  message  key=value…`; anything that is not a log
 * object is shown as it came.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);
const MAX_VALUE_LENGTH = 300;

export interface LogRecord {
  level?: number;
  time?: number;
  msg?: string;
  [field: string]: unknown;
}

export function parseLogLine(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? (/[\s"=]/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH)}…` : text;
}

/**
 * `LOG_FORMAT=json`: stdout must be JSON lines only (for jq and log shippers). A log object
 * passes as it came (pino's `name` says which app); any other line (a crash's stack trace,
 * the supervisor's own words) becomes one, named `name`.
 */
export function jsonLogLine(name: string, line: string): string {
  const record = parseLogLine(line);
  if (record) return record.name === undefined ? JSON.stringify({ name, ...record }) : line;
  return JSON.stringify({ level: 30, time: Date.now(), name, msg: line });
}

export function formatLogLine(app: string, line: string, width = 10): string {
  const record = parseLogLine(line);
  const name = app.padEnd(width);
  if (!record) return `${clock(Date.now())}  ${name}  ${line}`;
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => (key === 'err' && value && typeof value === 'object' ? `err=${show((value as { message?: unknown }).message ?? value)}` : `${key}=${show(value)}`));
  const level = (LEVELS[record.level ?? 30] ?? String(record.level)).padEnd(5);
  return `${clock(typeof record.time === 'number' ? record.time : Date.now())}  ${name}  ${level}  ${record.msg ?? ''}${fields.length ? `  ${fields.join(' ')}` : ''}`;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

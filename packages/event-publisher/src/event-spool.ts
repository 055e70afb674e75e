import { mkdir, open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { parseTrackingEvent, type TrackingEvent } from '@mailbeacon/contracts';
import { consoleLogger, type Logger } from './logger';

/*
 * Where tracking events wait while Redis cannot take them: one append-only file of JSON lines
 * (one event per line, oldest first). Appending a batch costs one write and one fdatasync, so a
 * caller told "stored" keeps its event through a crash or a power cut.
 *
 * Nothing is ever removed line by line: the replayer reads the file in order, adds the events to
 * the queue, and only when it has added everything up to the current end is the file truncated
 * (`clearIfSize`). A crash before the truncation replays some events again on restart, which is
 * harmless: their job ids are their event ids, and BullMQ ignores an add whose id exists.
 *
 * A line that cannot be read back (a torn last line from a crash in the middle of an append, or
 * anything that is not a valid tracking event) is never dropped silently: it is logged, counted,
 * and copied verbatim to `<file>.rejected` (fsync'd) before the spool moves past it.
 */

export const DEFAULT_SPOOL_FILE_NAME = 'tracking-events.spool';

export interface EventSpoolOptions {
  /** The directory holding the spool; created if missing. One directory per running process. */
  directory: string;
  /** The spool file's name in `directory` (default `tracking-events.spool`). */
  fileName?: string;
  /** Receives a warning for each line set aside (default: the console). */
  logger?: Logger;
}

/** Events read back from the spool, and where the next read starts. */
export interface SpoolChunk {
  events: TrackingEvent[];
  /** Byte offset just past the last line consumed (valid or set aside). */
  next: number;
}

const NEWLINE = 0x0a;
/** Events are a few hundred bytes; a 1 MiB read holds thousands of them. */
const READ_BLOCK_BYTES = 1 << 20;

export class EventSpool {
  /** The spool file. */
  readonly path: string;
  /** Where unreadable lines are kept for inspection. */
  readonly rejectedPath: string;

  private size = 0;
  private lines = 0;
  private rejectedLines = 0;
  /** Offsets already set aside since the last truncation, so a re-read does not copy them twice. */
  private readonly rejectedOffsets = new Set<number>();
  private rejectedFile: FileHandle | undefined;
  /** Appends, truncation and closing run one at a time, in call order. */
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    filePath: string,
    private readonly logger: Logger,
  ) {
    this.path = filePath;
    this.rejectedPath = `${filePath}.rejected`;
  }

  /**
   * Opens (or creates) the spool and gets it ready to append: a torn last line left by a crash is
   * set aside first, otherwise the next batch would be glued onto it.
   */
  static async open(options: EventSpoolOptions): Promise<EventSpool> {
    const directory = path.resolve(options.directory);
    await mkdir(directory, { recursive: true });
    const filePath = path.join(directory, options.fileName ?? DEFAULT_SPOOL_FILE_NAME);
    // a+: O_APPEND for writes (always at the end, whatever a reader does), positional reads.
    const file = await open(filePath, 'a+');
    const spool = new EventSpool(file, filePath, options.logger ?? consoleLogger);
    try {
      // A file created just now must still be there after a power cut: sync its directory entry.
      await syncDirectory(directory);
      await spool.recover();
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    return spool;
  }

  /** Bytes in the spool file (for metrics); 0 when nothing waits. */
  get sizeBytes(): number {
    return this.size;
  }

  /** Lines (events) in the spool file, replayed or not, until the file is truncated. */
  get pending(): number {
    return this.lines;
  }

  /** Lines set aside into the `.rejected` file since the spool was opened. */
  get rejected(): number {
    return this.rejectedLines;
  }

  /**
   * Appends the events, one JSON line each, and fsyncs once for all of them. When it resolves,
   * the events survive a crash. When it rejects, none of them were added: a partial write is cut
   * off again, so no torn line is left in the middle of the file.
   */
  async append(events: readonly TrackingEvent[]): Promise<void> {
    if (events.length === 0) return;
    const data = Buffer.from(events.map((event) => `${JSON.stringify(event)}\n`).join(''), 'utf8');
    await this.exclusive(async () => {
      this.assertOpen();
      try {
        await this.file.appendFile(data);
        await this.file.datasync();
      } catch (error) {
        await this.file.truncate(this.size).catch(() => undefined);
        throw error;
      }
      this.size += data.length;
      this.lines += events.length;
    });
  }

  /**
   * Reads, in file order, up to `maxEvents` events from byte offset `from` (0, or a `next` from
   * an earlier read) up to `to` (default: the current end). Lines that are not valid events are
   * set aside and skipped. Only whole, synced lines are read: `sizeBytes` grows only once an
   * append is on disk, so reading concurrently with appends is safe.
   */
  async read(from: number, maxEvents: number, to: number = this.size): Promise<SpoolChunk> {
    this.assertOpen();
    const end = Math.min(to, this.size);
    const events: TrackingEvent[] = [];
    const bad: Array<{ line: Buffer; offset: number; reason: string }> = [];
    let position = from;
    let blockSize = READ_BLOCK_BYTES;
    while (position < end && events.length < maxEvents) {
      const length = Math.min(blockSize, end - position);
      const block = Buffer.allocUnsafe(length);
      const { bytesRead } = await this.file.read(block, 0, length, position);
      if (bytesRead < length) throw new Error(`spool ${this.path} shrank while being read (changed by another process?)`);
      let lineStart = 0;
      for (let newline = block.indexOf(NEWLINE); newline !== -1 && events.length < maxEvents; newline = block.indexOf(NEWLINE, lineStart)) {
        const line = block.subarray(lineStart, newline);
        const offset = position + lineStart;
        lineStart = newline + 1;
        const decoded = decodeLine(line);
        if (decoded === undefined) continue;
        if ('event' in decoded) events.push(decoded.event);
        else bad.push({ line: Buffer.from(line), offset, reason: decoded.reason });
      }
      if (lineStart === 0) {
        if (length < end - position) {
          blockSize *= 2; // one line longer than the block: read more of it
          continue;
        }
        // No line end before `end`. Appends only add whole lines, so someone else wrote this.
        bad.push({ line: Buffer.from(block), offset: position, reason: 'unterminated line' });
        lineStart = length;
      }
      position += lineStart;
    }
    for (const { line, offset, reason } of bad) await this.setAside(line, offset, reason);
    return { events, next: position };
  }

  /**
   * Truncates the spool to nothing, but only if it is still `expectedSize` bytes long: the
   * replayer passes the size it replayed up to, so events appended meanwhile are never lost.
   * Returns whether it truncated.
   */
  async clearIfSize(expectedSize: number): Promise<boolean> {
    return this.exclusive(async () => {
      this.assertOpen();
      if (this.size !== expectedSize) return false;
      await this.file.truncate(0);
      await this.file.datasync();
      this.size = 0;
      this.lines = 0;
      this.rejectedOffsets.clear();
      return true;
    });
  }

  /** Closes the files after the appends already asked for. The spool stays on disk for the next start. */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.file.close();
      await this.rejectedFile?.close();
    });
  }

  /** Finds the last complete line; a torn tail after it is set aside and cut off. Counts the lines. */
  private async recover(): Promise<void> {
    const { size } = await this.file.stat();
    let lines = 0;
    let lastNewline = -1;
    const block = Buffer.allocUnsafe(Math.min(READ_BLOCK_BYTES, Math.max(size, 1)));
    for (let position = 0; position < size; ) {
      const { bytesRead } = await this.file.read(block, 0, Math.min(block.length, size - position), position);
      if (bytesRead === 0) break;
      const read = block.subarray(0, bytesRead);
      for (let i = read.indexOf(NEWLINE); i !== -1; i = read.indexOf(NEWLINE, i + 1)) {
        lines += 1;
        lastNewline = position + i;
      }
      position += bytesRead;
    }
    const complete = lastNewline + 1;
    if (complete < size) {
      const torn = Buffer.alloc(size - complete);
      await this.file.read(torn, 0, torn.length, complete);
      await this.setAside(torn, complete, 'torn last line (an append interrupted by a crash)');
      await this.file.truncate(complete);
      await this.file.datasync();
    }
    this.size = complete;
    this.lines = lines;
  }

  /** Copies a line to the `.rejected` file (fsync'd, so it is never lost), then reports it. */
  private async setAside(line: Buffer, offset: number, reason: string): Promise<void> {
    if (this.rejectedOffsets.has(offset)) return;
    this.rejectedFile ??= await open(this.rejectedPath, 'a');
    await this.rejectedFile.appendFile(Buffer.concat([line, Buffer.from('\n')]));
    await this.rejectedFile.datasync();
    this.rejectedOffsets.add(offset);
    this.rejectedLines += 1;
    this.logger.warn(
      { spool: this.path, offset, bytes: line.length, reason, rejectedFile: this.rejectedPath },
      'spool line is not a tracking event; set aside in the rejected file and skipped',
    );
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`spool ${this.path} is closed`);
  }
}

/** undefined for a blank line (nothing to keep), else the event or why the line is not one. */
function decodeLine(line: Buffer): { event: TrackingEvent } | { reason: string } | undefined {
  const text = line.toString('utf8');
  if (text.trim() === '') return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { reason: `not JSON: ${(error as Error).message}` };
  }
  try {
    return { event: parseTrackingEvent(data) };
  } catch (error) {
    return { reason: (error as Error).message };
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms and file systems cannot fsync a directory; the file itself is still synced.
    if (!['EINVAL', 'EPERM', 'EISDIR', 'ENOTSUP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

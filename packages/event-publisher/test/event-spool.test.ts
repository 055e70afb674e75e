import { readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { EventSpool, DEFAULT_SPOOL_FILE_NAME } from '@mailbeacon/event-publisher';
import { capturingLogger } from '@mailbeacon/testing';
import { events, openEvent, spoolLine, tempDir, type TempDir } from './support';

describe('EventSpool (a real file)', () => {
  let dir: TempDir;
  const opened: EventSpool[] = [];
  const openSpool = async (directory: string, logger = capturingLogger().logger) => {
    const spool = await EventSpool.open({ directory, logger });
    opened.push(spool);
    return spool;
  };

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((spool) => spool.close()));
    await dir.remove();
  });

  test('creates its directory, appends JSON lines and reads them back in order', async () => {
    const directory = path.join(dir.path, 'nested', 'spool');
    const spool = await openSpool(directory);
    expect(spool.path).toBe(path.join(directory, DEFAULT_SPOOL_FILE_NAME));
    expect(spool.sizeBytes).toBe(0);

    const first = events(3);
    const second = events(2);
    await spool.append(first);
    await spool.append(second);

    const text = await readFile(spool.path, 'utf8');
    expect(text).toBe([...first, ...second].map(spoolLine).join(''));
    expect(spool.sizeBytes).toBe(Buffer.byteLength(text));
    expect((await stat(spool.path)).size).toBe(spool.sizeBytes);
    expect(spool.pending).toBe(5);

    const all = await spool.read(0, 100);
    expect(all.events).toEqual([...first, ...second]);
    expect(all.next).toBe(spool.sizeBytes);
  });

  test('reads in chunks that resume where the last one ended', async () => {
    const spool = await openSpool(dir.path);
    const written = events(10);
    await spool.append(written);
    const seen = [];
    let offset = 0;
    while (offset < spool.sizeBytes) {
      const chunk = await spool.read(offset, 3);
      expect(chunk.events.length).toBeLessThanOrEqual(3);
      seen.push(...chunk.events);
      offset = chunk.next;
    }
    expect(seen).toEqual(written);
  });

  test('clearIfSize truncates only when nothing was appended since', async () => {
    const spool = await openSpool(dir.path);
    await spool.append(events(2));
    const replayedUpTo = spool.sizeBytes;
    await spool.append(events(1));
    expect(await spool.clearIfSize(replayedUpTo)).toBe(false);
    expect(spool.pending).toBe(3);
    expect(await spool.clearIfSize(spool.sizeBytes)).toBe(true);
    expect(spool.sizeBytes).toBe(0);
    expect(spool.pending).toBe(0);
    expect((await stat(spool.path)).size).toBe(0);
    // and appending goes on from the start
    const later = events(1);
    await spool.append(later);
    expect(await readFile(spool.path, 'utf8')).toBe(spoolLine(later[0]));
  });

  test('a reopened spool knows its size and count', async () => {
    const first = await openSpool(dir.path);
    await first.append(events(4));
    const size = first.sizeBytes;
    await first.close();
    const again = await openSpool(dir.path);
    expect(again.sizeBytes).toBe(size);
    expect(again.pending).toBe(4);
  });

  test('a torn last line (crash mid-append) is set aside and reported at open, and appends continue cleanly', async () => {
    const good = events(2);
    const torn = JSON.stringify(openEvent()).slice(0, 40);
    const file = path.join(dir.path, DEFAULT_SPOOL_FILE_NAME);
    await writeFile(file, good.map(spoolLine).join('') + torn);

    const { logger, records } = capturingLogger();
    const spool = await openSpool(dir.path, logger);
    expect(spool.rejected).toBe(1);
    expect(spool.pending).toBe(2);
    expect(await readFile(spool.rejectedPath, 'utf8')).toBe(`${torn}\n`);
    expect(records).toContainEqual(expect.objectContaining({ level: 40, reason: expect.stringMatching(/torn/), rejectedFile: spool.rejectedPath }));

    const next = events(1);
    await spool.append(next);
    expect((await spool.read(0, 100)).events).toEqual([...good, ...next]);
  });

  test('lines that are not tracking events are set aside once, reported, and skipped', async () => {
    const [a, b] = events(2);
    const file = path.join(dir.path, DEFAULT_SPOOL_FILE_NAME);
    const notJson = '{"type":"open",garbage';
    const notAnEvent = JSON.stringify({ type: 'open', id: 'not-a-uuid' });
    await writeFile(file, spoolLine(a) + notJson + '\n' + notAnEvent + '\n' + spoolLine(b));

    const { logger, records } = capturingLogger();
    const spool = await openSpool(dir.path, logger);
    const chunk = await spool.read(0, 100);
    expect(chunk.events).toEqual([a, b]);
    expect(chunk.next).toBe(spool.sizeBytes);
    // read again (a replay that failed and resumes from the start): not copied twice
    await spool.read(0, 100);
    expect(spool.rejected).toBe(2);
    expect(await readFile(spool.rejectedPath, 'utf8')).toBe(`${notJson}\n${notAnEvent}\n`);
    const warnings = records.filter((r) => r.level === 40);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ reason: expect.stringMatching(/not JSON/) });
    expect(warnings[1]).toMatchObject({ reason: expect.stringMatching(/id/) });
  });

  test('closing waits for appends already asked for', async () => {
    const spool = await openSpool(dir.path);
    const appended = spool.append(events(3));
    await spool.close();
    await appended;
    expect((await readFile(spool.path, 'utf8')).split('\n')).toHaveLength(4);
    await expect(spool.append(events(1))).rejects.toThrow(/closed/);
  });
});

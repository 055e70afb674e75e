import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppProcess } from '../src/app-process';
import { formatLogLine, jsonLogLine, parseLogLine } from '../src/log-lines';

describe('AppProcess', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mb-app-process-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('an app that ignores SIGTERM is killed after the grace period, and that is said as an error line', async () => {
    // An app that is up (its ready line) and then will not stop on SIGTERM.
    const script = path.join(dir, 'stubborn.js');
    writeFileSync(script, `process.on('SIGTERM', () => console.log(JSON.stringify({ level: 30, msg: 'ignoring SIGTERM' })));\nconsole.log(JSON.stringify({ level: 30, msg: 'stubborn started' }));\nsetInterval(() => {}, 1000);\n`);
    const lines: string[] = [];
    const app = new AppProcess({ name: 'stubborn', args: [script], env: { PATH: process.env.PATH }, cwd: dir, readyMessage: 'stubborn started', onLine: (line) => lines.push(line) });
    await app.start();
    await app.stop(300);

    const kill = lines.map((line) => parseLogLine(line)).find((record) => /killed \(SIGKILL\)/.test(String(record?.msg)));
    expect(kill).toMatchObject({ level: 50, msg: 'did not stop within 0.3 s of SIGTERM: killed (SIGKILL)' });
    const raw = lines.find((line) => line.includes('killed (SIGKILL)'))!;
    expect(formatLogLine('stubborn', raw)).toMatch(/ stubborn\s+ERROR\s+did not stop within 0\.3 s of SIGTERM: killed \(SIGKILL\)$/);
    expect(JSON.parse(jsonLogLine('stubborn', raw))).toMatchObject({ name: 'stubborn', level: 50 });
  });
});

import { spawn } from 'node:child_process';
import path from 'node:path';

/*
 * runService exits the process, so each case runs a small service in a child process
 * (against the built package). The services hold a timer, as a real one holds its sockets:
 * otherwise the process would simply end before any signal.
 */
const DIST = path.resolve(__dirname, '..', 'dist');

function run(body: string, signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    const { runService, StartupError } = require(${JSON.stringify(DIST)});
    const { ConfigError } = require('@mailbeacon/contracts');
    ${body}`;
  const child = spawn(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..') });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    if (signal && stdout.includes('"started"')) child.kill(signal);
  });
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('runService', () => {
  test('bad configuration: exit 78 with every problem listed', async () => {
    const out = await run(`runService({ name: 'demo', loadConfig() { throw new ConfigError([{ variable: 'A', message: 'bad (got "x")' }, { variable: 'B', message: 'required (not set)' }]); }, logLevel: () => 'info', start: async () => ({ close: async () => {} }) });`);
    expect(out.code).toBe(78);
    expect(out.stderr).toBe('mailbeacon demo: bad configuration:\nA: bad (got "x")\nB: required (not set)\n');
  });

  test('a start-up failure: exit 1 with one log line, no stack', async () => {
    const out = await run(`runService({ name: 'demo', loadConfig: () => ({}), logLevel: () => 'info', start: async () => { throw new StartupError('cannot reach PostgreSQL at postgres://x'); } });`);
    expect(out.code).toBe(1);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 60, name: 'demo', msg: 'cannot reach PostgreSQL at postgres://x' });
  });

  test.each(['SIGTERM', 'SIGINT'] as const)('%s: finishes the work in hand (close) and exits 0', async (signal) => {
    const out = await run(
      `runService({ name: 'demo', loadConfig: () => ({}), logLevel: () => 'info', start: async (c, logger) => { const alive = setInterval(() => {}, 1000); logger.info('started'); return { close: () => new Promise((r) => setTimeout(() => { clearInterval(alive); logger.info('closed'); r(); }, 200)) }; } });`,
      signal,
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/"msg":"stopping: finishing the work in hand"[\s\S]*"msg":"closed"/);
  });

  test('a signal while the service is still starting stops it once started, cleanly', async () => {
    const out = await run(
      `runService({ name: 'demo', loadConfig: () => ({}), logLevel: () => 'info', start: async (c, logger) => { const alive = setInterval(() => {}, 1000); logger.info('started'); await new Promise((r) => setTimeout(r, 300)); return { close: async () => { clearInterval(alive); logger.info('closed'); } }; } });`,
      'SIGTERM',
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/"msg":"closed"/);
  });
  test('a signal while the start waits (for a Redis that is not there): the wait ends at once, exit 0', async () => {
    const out = await run(
      `runService({ name: 'demo', loadConfig: () => ({}), logLevel: () => 'info', start: async (c, logger, stopping) => { const alive = setInterval(() => {}, 1000); logger.info('started'); await new Promise((r, reject) => stopping.addEventListener('abort', () => { clearInterval(alive); reject(stopping.reason); })); return { close: async () => {} }; } });`,
      'SIGTERM',
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/"msg":"stopping: finishing the work in hand"[\s\S]*"msg":"stopped before it had started"/);
    expect(out.stderr).toBe('');
  });

  test('a stop that hangs (close() waiting on something that never answers) ends anyway after stopTimeoutMs, exit 1', async () => {
    const out = await run(
      `runService({ name: 'demo', loadConfig: () => ({}), logLevel: () => 'info', stopTimeoutMs: () => 300, start: async (c, logger) => { setInterval(() => {}, 1000); logger.info('started'); return { close: () => new Promise(() => {}) }; } });`,
      'SIGTERM',
    );
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/"msg":"not stopped after 0.3 s \(something it waits on does not answer\): exiting anyway"/);
  });

  test('stdout gone (its reader closed): the service keeps running, then stops on SIGTERM with exit 0', async () => {
    const script = `
      const { runService } = require(${JSON.stringify(DIST)});
      runService({ name: 'demo', loadConfig: () => ({}), logLevel: () => 'info', start: async (config, logger) => {
        const timer = setInterval(() => logger.info('tick'), 10);
        logger.info('started');
        return { close: async () => clearInterval(timer) };
      } });`;
    const child = spawn(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The reader goes away after the first line: every later write meets a broken pipe.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000, 'still running'))]);
    if (code === 'still running') child.kill('SIGKILL');
    expect(code).toBe(0);
  });
});

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-server';

const run = promisify(execFile);

const INITDB_ARGS = ['-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];

/** The bin directory of the newest PostgreSQL under /usr/lib/postgresql (e.g. /usr/lib/postgresql/15/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+(\.\d+)?$/.test(name) && existsSync(join(root, name, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, versions[0], 'bin');
}

/** Whether we are root, who must hand the server to the `postgres` OS user (initdb refuses root). */
const asRoot = process.getuid?.() === 0;

/** Runs one of the PostgreSQL binaries, as the `postgres` OS user when we are root. */
async function pgCommand(binary: string, args: string[], cwd: string, timeout = 60_000): Promise<string> {
  const path = join(binDir(), binary);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  try {
    const { stdout, stderr } = await run(file, argv, { cwd, timeout, encoding: 'utf8' });
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${binary} ${args.join(' ')} failed: ${(error as Error).message}\n${stdout}${stderr}`);
  }
}

/** Gives a directory we created to the `postgres` OS user. */
async function giveToPostgres(path: string): Promise<void> {
  if (!asRoot) return;
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', 'postgres'], { encoding: 'utf8' }),
    run('id', ['-g', 'postgres'], { encoding: 'utf8' }),
  ]);
  await chown(path, Number(uid.trim()), Number(gid.trim()));
}

let template: Promise<string> | undefined;

/**
 * An initialised data directory to copy, so that only the first cluster pays for initdb. It is
 * kept in the temp dir across processes (keyed by server version and initdb options); it is built
 * aside and renamed into place, so concurrent processes never see a half-made one.
 */
function templateDataDir(): Promise<string> {
  template ??= (async () => {
    const key = createHash('sha256').update(`${binDir()}\0${INITDB_ARGS.join('\0')}`).digest('hex').slice(0, 12);
    const path = join(tmpdir(), `mailbeacon-pg-template-${process.getuid?.() ?? 'x'}-${key}`);
    if (existsSync(join(path, 'global', 'pg_control'))) return path;
    const build = await mkdtemp(join(tmpdir(), 'mailbeacon-pg-initdb-'));
    try {
      await giveToPostgres(build);
      await pgCommand('initdb', ['-D', join(build, 'data'), ...INITDB_ARGS], build);
      try {
        await rename(join(build, 'data'), path);
      } catch (error) {
        // Another process got there first: theirs is as good as ours.
        if (!existsSync(join(path, 'global', 'pg_control'))) throw error;
      }
      return path;
    } finally {
      await rm(build, { recursive: true, force: true });
    }
  })().catch((error: unknown) => {
    template = undefined;
    throw error;
  });
  return template;
}

/** The parent pid and state (R, S, Z, ...) of a process, or undefined once it is gone. */
function processStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Whether a process still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** The postmaster's children (backends, checkpointer, ...): each runs in a process group of its own. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (processStat(Number(entry))?.ppid === pid) children.push(Number(entry));
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitUntilGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * A PostgreSQL cluster of the test's own, in a temp dir, on its own port: stopping or killing it
 * is a real outage (the shared 5432 one is never touched). Trust auth, user `postgres`, fsync off.
 */
export class OwnPostgres {
  private postmaster: number | undefined;
  private paused = false;
  private destroyed = false;

  private constructor(
    readonly port: number,
    /** The temp dir: data directory, server log and Unix socket. */
    readonly dir: string,
  ) {}

  /** A fresh cluster (copied from a once-initialised template), started; resolves once it accepts connections. */
  static async start(): Promise<OwnPostgres> {
    const dir = await mkdtemp(join(tmpdir(), 'mailbeacon-pg-'));
    const postgres = new OwnPostgres(await freePort(), dir);
    try {
      await giveToPostgres(dir);
      await run('cp', ['-a', await templateDataDir(), postgres.dataDir]);
      await appendFile(
        join(postgres.dataDir, 'postgresql.conf'),
        [
          '',
          '# OwnPostgres',
          `port = ${postgres.port}`,
          `listen_addresses = '127.0.0.1'`,
          `unix_socket_directories = '${dir}'`,
          // No fsync (the machine does not crash, only postgres does), but commits are still written
          // out before they are acknowledged, so a kill() loses nothing committed.
          'fsync = off',
          'shared_buffers = 16MB',
          'max_connections = 50',
          'max_wal_senders = 0',
          'wal_level = minimal',
          '',
        ].join('\n'),
      );
      await postgres.start();
      return postgres;
    } catch (error) {
      await postgres.destroy();
      throw error;
    }
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get logFile(): string {
    return join(this.dir, 'postgres.log');
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    return this.postmaster;
  }

  get running(): boolean {
    return this.postmaster !== undefined;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** (Re)starts it on the same port and data dir (recovering after a kill); resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.destroyed) throw new Error('destroyed');
    if (this.postmaster) throw new Error('already running');
    try {
      await pgCommand('pg_ctl', ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-s'], this.dir, 90_000);
    } catch (error) {
      await this.killRemains();
      throw new Error(`${(error as Error).message}\n--- ${this.logFile} ---\n${await this.log()}`);
    }
    this.postmaster = await this.readPostmasterPid();
    if (this.postmaster === undefined) throw new Error(`postgres started but left no postmaster.pid\n${await this.log()}`);
  }

  /** Shuts it down (`pg_ctl stop -m fast` or `immediate`) and waits until it is gone. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const pid = this.postmaster;
    if (pid === undefined) return;
    this.resume();
    try {
      await pgCommand('pg_ctl', ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '30', '-s'], this.dir, 45_000);
    } catch (error) {
      await this.kill();
      throw error;
    }
    this.postmaster = undefined;
    await this.killRemains();
  }

  /** Stops it if it runs, then starts it again on the same port and data dir. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Crashes it like a power cut: SIGKILL to the postmaster and every child at once, nothing gets
   * to clean up. The next start() runs crash recovery.
   */
  async kill(): Promise<void> {
    const pid = this.postmaster;
    this.postmaster = undefined;
    this.paused = false;
    if (pid !== undefined && this.isOurs(pid)) await this.killTree(pid);
    await this.killRemains();
  }

  /** Freezes it (SIGSTOP to the postmaster and its children): connections hang, nothing is answered. */
  pause(): void {
    const pid = this.postmaster;
    if (pid === undefined || this.paused) return;
    signal(pid, 'SIGSTOP'); // first, so it forks nothing new
    for (const child of childrenOf(pid)) signal(child, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    const pid = this.postmaster;
    if (pid === undefined || !this.paused) return;
    for (const child of childrenOf(pid)) signal(child, 'SIGCONT');
    signal(pid, 'SIGCONT');
    this.paused = false;
  }

  /** Stops it if it runs (killing whatever lingers) and removes the temp dir. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.stop('immediate');
    } catch {
      // stop() fell back to kill()
    } finally {
      await this.killRemains();
      this.destroyed = true;
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  /** The server log (for failure messages). */
  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  private async readPostmasterPid(): Promise<number | undefined> {
    const text = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
    const pid = Number(text?.split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** Whether pid is a postmaster of this data dir (it runs with the data dir as its working directory). */
  private isOurs(pid: number): boolean {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(this.dataDir);
    } catch {
      return false;
    }
  }

  private async killTree(pid: number): Promise<void> {
    if (!alive(pid)) return;
    signal(pid, 'SIGSTOP'); // so it forks no new child between listing and killing
    const children = childrenOf(pid);
    signal(pid, 'SIGKILL');
    for (const child of children) signal(child, 'SIGKILL');
    if (!(await waitUntilGone([pid, ...children], 10_000))) throw new Error(`postgres ${pid} survived SIGKILL`);
  }

  /**
   * Kills a postmaster left behind in our data dir (after a failed start or stop), then removes the
   * stale postmaster.pid and socket lock file: their pid may linger as an unreaped zombie, which
   * postgres would take for a running server. Never touches another cluster: the pid comes from our
   * own data dir, and is only killed if that is its working directory.
   */
  private async killRemains(): Promise<void> {
    const pid = await this.readPostmasterPid();
    if (pid === undefined) return;
    if (alive(pid) && this.isOurs(pid)) await this.killTree(pid);
    const socket = join(this.dir, `.s.PGSQL.${this.port}`);
    await Promise.all([join(this.dataDir, 'postmaster.pid'), socket, `${socket}.lock`].map((path) => rm(path, { force: true })));
  }
}

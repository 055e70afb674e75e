import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseLogLine, type LogRecord } from './log-lines';

export interface AppProcessOptions {
  /** e.g. `tracker`. */
  name: string;
  /** Node arguments: flags, then the script. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The log message that says the app is up (e.g. `tracker listening`). */
  readyMessage: string;
  /** Every line the app writes (stdout and stderr). */
  onLine(line: string): void;
  /** An app that has not logged its ready line by then is stopped and reported (default 60 s). */
  startTimeoutMs?: number;
  /** Restart delays after a crash: doubling from this (default 1 s) up to 30 s. */
  restartDelayMs?: number;
  onRestart?(info: { code: number | null; signal: NodeJS.Signals | null; delayMs: number }): void;
}

/** The app's exit before it was ever up: not worth restarting (bad configuration, port taken…). */
export class AppStartError extends Error {
  override readonly name = 'AppStartError';

  constructor(
    readonly app: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The last lines it wrote, which usually say why. */
    readonly lastLines: readonly string[],
  ) {
    super(`${app} stopped before it was up (${signal ?? `exit code ${code}`})`);
  }
}

/** Apps that stopped before they were up, each with its own reason: all of them are reported at once. */
export class AppsStartError extends Error {
  override readonly name = 'AppsStartError';

  constructor(readonly failures: readonly AppStartError[]) {
    super(failures.map((failure) => failure.message).join('; '));
  }

  /** 78 when any app had bad configuration (the operator fixes that first), else 1. */
  get exitCode(): number {
    return this.failures.some((failure) => failure.code === 78) ? 78 : 1;
  }
}

const MAX_RESTART_DELAY_MS = 30_000;
/** Up this long, a process counts as healthy again: the next crash restarts it at once. */
const HEALTHY_AFTER_MS = 60_000;
const KEPT_LINES = 20;

/**
 * One app as a child process (with an IPC channel, so it stops by itself should the
 * supervisor be killed): started, watched until its ready line, restarted after a
 * crash (the queues keep its work: a killed worker's jobs are taken over after their lock
 * expires), stopped with SIGTERM so it finishes what it holds.
 */
export class AppProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextDelayMs: number;
  private readonly lastLines: string[] = [];
  /** The ready line's record, once up. */
  ready: LogRecord | undefined;
  restarts = 0;

  constructor(private readonly options: AppProcessOptions) {
    this.nextDelayMs = options.restartDelayMs ?? 1000;
  }

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves with the ready line's record; rejects with AppStartError if the app exits first. */
  start(): Promise<LogRecord> {
    return this.run(false);
  }

  private run(restart: boolean): Promise<LogRecord> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...this.options.args], { cwd: this.options.cwd, env: this.options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      this.child = child;
      const startedAt = Date.now();
      let up = false;
      const startTimer = setTimeout(() => {
        this.options.onLine(`not up after ${(this.options.startTimeoutMs ?? 60_000) / 1000} s: stopping it`);
        child.kill('SIGKILL');
      }, this.options.startTimeoutMs ?? 60_000);
      const onLine = (line: string) => {
        this.lastLines.push(line);
        if (this.lastLines.length > KEPT_LINES) this.lastLines.shift();
        this.options.onLine(line);
        if (!up && parseLogLine(line)?.msg === this.options.readyMessage) {
          up = true;
          clearTimeout(startTimer);
          this.ready = parseLogLine(line);
          resolve(this.ready!);
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      child.once('exit', (code, signal) => {
        clearTimeout(startTimer);
        if (this.child === child) this.child = undefined;
        if (!up) reject(new AppStartError(this.options.name, code, signal, [...this.lastLines]));
        // The first start reports to its caller; a crash, or a restart that failed, is restarted.
        if ((!up && !restart) || this.stopping) return;
        if (Date.now() - startedAt > HEALTHY_AFTER_MS) this.nextDelayMs = this.options.restartDelayMs ?? 1000;
        const delayMs = this.nextDelayMs;
        this.nextDelayMs = Math.min(MAX_RESTART_DELAY_MS, this.nextDelayMs * 2);
        this.options.onRestart?.({ code, signal, delayMs });
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (this.stopping) return;
          this.restarts++;
          this.run(true).catch(() => {
            // Reported by its own lines; the exit handler schedules the next attempt.
          });
        }, delayMs);
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs` (reported as one of its lines); resolves once the process is gone. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      // Said out loud, as an error: what it held is not finished (the queues give it to the next run).
      this.options.onLine(JSON.stringify({ level: 50, time: Date.now(), msg: `did not stop within ${graceMs / 1000} s of SIGTERM: killed (SIGKILL)` }));
      child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** For tests and fault drills: kill it the hard way (it is restarted like after a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }
}

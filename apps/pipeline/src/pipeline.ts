import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describeSigningKeys, SECRET_FILE_VARIABLE, signingKeysFromEnv } from '@mailbeacon/contracts';
import { AppProcess, AppsStartError, AppStartError } from './app-process';
import { formatLogLine, jsonLogLine } from './log-lines';
import { localSecret } from './local-secret';
import { checkServices } from './preflight';

/** The processes of the pipeline, as production runs them (see infra/): same scripts, same flags. */
export const PIPELINE_APPS = [
  { name: 'rewriter', args: ['apps/rewriter/dist/main.js'], readyMessage: 'rewriter started' },
  { name: 'aggregator', args: ['--max-semi-space-size=64', 'apps/aggregator/dist/main.js'], readyMessage: 'aggregator started' },
  { name: 'tracker', args: ['apps/tracker/dist/main.js'], readyMessage: 'tracker listening' },
  { name: 'admin', args: ['apps/admin/dist/main.js'], readyMessage: 'admin API listening' },
] as const;

/** How long Ctrl-C waits for the apps before SIGKILL (see stop()). */
export const STOP_GRACE_MS = 40_000;

const QUIETER_THAN_INFO = new Set(['warn', 'error', 'fatal', 'silent']);

export type PipelineAppName = (typeof PIPELINE_APPS)[number]['name'];

export interface PipelineOptions {
  /** The repository root (where apps/ is). */
  root: string;
  /** The environment the apps get (and the pipeline reads REDIS_URL, DATABASE_URL… from). */
  env: NodeJS.ProcessEnv;
  redisUrl: string;
  databaseUrl: string;
  /** Where the generated signing secret is kept when MAILBEACON_SECRET is unset. */
  secretFile: string;
  /** Human-readable output (the apps' log lines included). */
  print(line: string): void;
  /** Pretty lines (default) or JSON lines only: the apps' as they come (`name` says which), any other line made one. */
  logFormat?: 'pretty' | 'json';
  restartDelayMs?: number;
}

export interface RunningPipeline {
  apps: ReadonlyMap<PipelineAppName, AppProcess>;
  adminToken: string;
  /** SIGTERM to every app (they finish what they hold), SIGKILL after `graceMs` (STOP_GRACE_MS). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * What `npm start` does: checks Redis and PostgreSQL (saying which is missing and how to
 * start it), creates and migrates the database, then runs the four apps as child processes,
 * restarting one that crashes, until stopped.
 */
export async function startPipeline(options: PipelineOptions): Promise<RunningPipeline> {
  const { print } = options;
  // The signing key first: a bad key file is a configuration error, found before anything runs.
  const env: NodeJS.ProcessEnv = { ...options.env };
  if (env.MAILBEACON_SECRET?.trim()) {
    print(describeSigningKeys(signingKeysFromEnv(env, options.root)).message);
  } else {
    // The apps read the key from the file, as the CLI and an app started by hand do.
    const { created } = localSecret(options.secretFile);
    env[SECRET_FILE_VARIABLE] = options.secretFile;
    const { keys } = signingKeysFromEnv(env, options.root);
    print(`signing key ${keys.current.id} ${created ? 'generated into' : 'read from'} ${path.relative(options.root, options.secretFile) || options.secretFile} (set MAILBEACON_SECRET in production)`);
  }
  await checkServices(options.redisUrl, options.databaseUrl, print);

  // The supervisor learns that an app is up from its info-level "started" line.
  if (env.LOG_LEVEL && QUIETER_THAN_INFO.has(env.LOG_LEVEL.trim().toLowerCase())) {
    print(`LOG_LEVEL=${env.LOG_LEVEL} hides the lines that say an app is up: using info`);
    env.LOG_LEVEL = 'info';
  }
  const adminToken = env.ADMIN_TOKEN?.trim() || randomBytes(24).toString('base64url');
  env.ADMIN_TOKEN = adminToken;

  const width = Math.max(...PIPELINE_APPS.map((app) => app.name.length));
  const apps = new Map<PipelineAppName, AppProcess>();
  for (const app of PIPELINE_APPS) {
    apps.set(
      app.name,
      new AppProcess({
        name: app.name,
        args: app.args,
        env,
        cwd: options.root,
        readyMessage: app.readyMessage,
        restartDelayMs: options.restartDelayMs,
        onLine: (line) => print(options.logFormat === 'json' ? jsonLogLine(app.name, line) : formatLogLine(app.name, line, width)),
        onRestart: ({ code, signal, delayMs }) => print(`${app.name} stopped unexpectedly (${signal ?? `exit code ${code}`}); restarting in ${delayMs} ms`),
      }),
    );
  }
  // Longer than any app's own stop limit (runService's, 30 s by default): an app that cannot
  // finish says why and exits by itself; SIGKILL is the last resort for one that hangs anyway.
  const stop = async (graceMs = STOP_GRACE_MS) => {
    await Promise.all([...apps.values()].map((app) => app.stop(graceMs)));
  };

  const started = await Promise.allSettled([...apps.values()].map((app) => app.start()));
  // Every app that could not start is reported, not only the first: one round of fixes.
  const failures = started.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length > 0) {
    await stop(5000);
    const other = failures.find((reason) => !(reason instanceof AppStartError));
    if (other !== undefined) throw other instanceof Error ? other : new Error(String(other));
    throw new AppsStartError(failures as AppStartError[]);
  }
  return { apps, adminToken, stop };
}

/** Where each app listens, from the line it logged when it was up. */
export function describeRunning(pipeline: RunningPipeline): string[] {
  const ready = (name: PipelineAppName) => pipeline.apps.get(name)?.ready ?? {};
  const extra = (name: PipelineAppName) => {
    // Workers serve /healthz, /readyz and /metrics there (unless their port is 0).
    const { operations } = ready(name) as { operations?: unknown };
    return typeof operations === 'string' ? `   health and metrics ${operations}` : '';
  };
  const tracker = ready('tracker') as { url?: string };
  const admin = ready('admin') as { url?: string; console?: string };
  const rewriter = ready('rewriter') as { queue?: string };
  const aggregator = ready('aggregator') as { queue?: string };
  return [
    'mailbeacon is running:',
    `  tracker     ${tracker.url ?? '?'}   clicks and opens; your proxy sends the tracking hosts here with X-Postal-Track-Host: 1${extra('tracker')}`,
    `  admin API   ${admin.url ?? '?'}   Authorization: Bearer ${pipeline.adminToken}`,
    `  console     ${admin.console ?? '?'}   in a browser; log in with the admin token`,
    `  rewriter    ${rewriter.queue ?? 'outbound-messages'} → outbound-ready${extra('rewriter')}`,
    `  aggregator  ${aggregator.queue ?? 'tracking-events'} → PostgreSQL${extra('aggregator')}`,
    'Try it: npm run demo (in another terminal).  Stop: Ctrl-C.',
  ];
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './corpus';
import { freePort } from './redis-server';

/*
 * The real nginx (/usr/sbin/nginx) with the files of infra/nginx/, for tests.
 *
 * The files are used as they are, with only the line rewrites a test names, made in a
 * temporary copy (adaptedCopy checks that each one applies and leaves every other line
 * untouched): typically `listen 80`/`listen 443` → a free port (nobody may bind 80/443 in a
 * test) and upstream.conf's `server 127.0.0.1:8080` → the port of the tracker (or a stand-in).
 * nginx runs in the foreground as a child of the test, with a temporary prefix of its own; the
 * access log goes where the files say (/var/log/nginx/access.log).
 */

export const NGINX_BINARY = '/usr/sbin/nginx';
/** infra/nginx/ of this repository. */
export const NGINX_CONF_DIR = path.join(repoRoot, 'infra', 'nginx');
/** The shipped configuration files. */
export const NGINX_CONF = {
  upstream: path.join(NGINX_CONF_DIR, 'upstream.conf'),
  upstreamCompose: path.join(NGINX_CONF_DIR, 'upstream.compose.conf'),
  plain: path.join(NGINX_CONF_DIR, 'tracking-host.conf'),
  tls: path.join(NGINX_CONF_DIR, 'tracking-host-tls.conf'),
} as const;
/** The address upstream.conf names for the tracker. */
export const UPSTREAM_CONF_SERVER = '127.0.0.1:8080';

/** Throws a clear error when nginx is not installed (tests using it run the real one). */
export function requireNginx(): void {
  if (!existsSync(NGINX_BINARY)) {
    throw new Error(
      `${NGINX_BINARY} is missing: these tests run the real nginx. .ci/run installs it ` +
        '(apt-get install nginx); install it the same way to run them locally.',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration copies

/** One line rewrite for adaptedCopy. */
export interface Rewrite {
  what: string;
  /** Matched against one line; group 1 is kept, the rest of the match becomes `value`. */
  pattern: RegExp;
  value: string;
}

/** `listen 80` (or 443) → `listen <to>`, the rest of the line (`default_server`, `ssl`…) kept. */
export const listenPort = (from: 80 | 443, to: number): Rewrite => ({
  what: `listen ${from}`,
  pattern: new RegExp(`^(\\s*listen\\s+)${from}(?=[\\s;])`),
  value: String(to),
});

/** An upstream's `server <address>` line → `server 127.0.0.1:<port>`. */
export const upstreamServer = (address: string, port: number): Rewrite => ({
  what: `upstream server ${address}`,
  pattern: new RegExp(`^(\\s*server\\s+)${address.replace(/\./g, '\\.')}(?=[\\s;])`),
  value: `127.0.0.1:${port}`,
});

/** An `ssl_certificate` / `ssl_certificate_key` path → `file`. */
export const certificate = (directive: 'ssl_certificate' | 'ssl_certificate_key', file: string): Rewrite => ({
  what: directive,
  pattern: new RegExp(`^(\\s*${directive}\\s+)[^\\s;]+(?=;)`),
  value: file,
});

/** Writes `source` to `target` with only the given line rewrites; each must apply at least once. */
export function adaptedCopy(source: string, target: string, rewrites: readonly Rewrite[]): void {
  const applied = new Map<Rewrite, number>();
  const lines = readFileSync(source, 'utf8')
    .split('\n')
    .map((line) => {
      const rewrite = rewrites.find((candidate) => candidate.pattern.test(line));
      if (!rewrite) return line;
      applied.set(rewrite, (applied.get(rewrite) ?? 0) + 1);
      return line.replace(rewrite.pattern, (_match, head: string) => head + rewrite.value);
    });
  const missing = rewrites.filter((rewrite) => !applied.has(rewrite));
  if (missing.length > 0) throw new Error(`${source}: no line for ${missing.map((rewrite) => rewrite.what).join(', ')}`);
  writeFileSync(target, lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// The nginx process

export interface NginxSetup {
  /** nginx's prefix: its main configuration, pid file, error log and temp paths are here. */
  dir: string;
  conf: string;
  /** The ports startNginx waits for. */
  ports: number[];
}

/** A temporary prefix with a minimal main configuration including `includes` in its http block. */
export function nginxSetup(dir: string, includes: readonly string[], ports: number[]): NginxSetup {
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      // Workers run as the invoking user: as root nginx would switch them to `nobody` otherwise.
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 128; }',
      'http {',
      `  client_body_temp_path ${dir}/client_body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      ...includes.map((file) => `  include ${file};`),
      '}',
      '',
    ].join('\n'),
  );
  return { dir, conf, ports };
}

const nginxArgs = (setup: NginxSetup) => ['-p', `${setup.dir}/`, '-e', path.join(setup.dir, 'error.log'), '-c', setup.conf];

/** `nginx -t`: throws with nginx's own words unless the configuration is valid; returns its output. */
export function nginxTest(setup: NginxSetup): string {
  const result = spawnSync(NGINX_BINARY, ['-t', ...nginxArgs(setup)], { encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`nginx -t failed (exit ${result.status}):\n${output}\n${readFileSync(setup.conf, 'utf8')}`);
  return output;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts nginx in the foreground (a child of the test); resolves once every port accepts connections. */
export async function startNginx(setup: NginxSetup): Promise<ChildProcess> {
  const child = spawn(NGINX_BINARY, [...nginxArgs(setup), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = existsSync(path.join(setup.dir, 'error.log')) ? readFileSync(path.join(setup.dir, 'error.log'), 'utf8') : '';
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}):\n${output}\n${log}`);
    }
    const up = await Promise.all(setup.ports.map(connects));
    if (up.every(Boolean)) return child;
    if (Date.now() > deadline) {
      await stopNginx(child);
      throw new Error(`nginx did not listen on ${setup.ports.join(', ')} within 10 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Graceful stop (SIGQUIT), SIGKILL if it lingers; waits until the process is gone. */
export async function stopNginx(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// The tracking-host proxy as shipped

export interface TrackingProxyOptions {
  /** The port of the tracker (or a stand-in) on 127.0.0.1: upstream.conf's server line. */
  trackerPort: number;
  /** Where the adapted copies and nginx's prefix go; a temporary directory (removed by stop) by default. */
  dir?: string;
}

export interface TrackingProxy {
  /** nginx's port on 127.0.0.1 (tracking-host.conf's `listen 80`). */
  port: number;
  /** The nginx process. */
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * infra/nginx/tracking-host.conf + upstream.conf run by the real nginx, with only the listen
 * port (a free one) and upstream.conf's server line (→ 127.0.0.1:trackerPort) adapted. The
 * configuration is checked with `nginx -t` first.
 */
export async function startTrackingProxy({ trackerPort, dir }: TrackingProxyOptions): Promise<TrackingProxy> {
  requireNginx();
  const ownDir = dir === undefined;
  const prefix = dir ?? mkdtempSync(path.join(tmpdir(), 'mailbeacon-nginx-proxy-'));
  const removeOwnDir = () => {
    if (ownDir) rmSync(prefix, { recursive: true, force: true });
  };
  try {
    const upstream = path.join(prefix, 'upstream.conf');
    const trackingHost = path.join(prefix, 'tracking-host.conf');
    adaptedCopy(NGINX_CONF.upstream, upstream, [upstreamServer(UPSTREAM_CONF_SERVER, trackerPort)]);
    for (let attempt = 1; ; attempt++) {
      // freePort's port may be taken by someone else before nginx binds it: then another one.
      const port = await freePort();
      adaptedCopy(NGINX_CONF.plain, trackingHost, [listenPort(80, port)]);
      const setup = nginxSetup(prefix, [upstream, trackingHost], [port]);
      nginxTest(setup);
      let child: ChildProcess;
      try {
        child = await startNginx(setup);
      } catch (error) {
        if (attempt < 3 && /Address already in use/.test(String(error))) continue;
        throw error;
      }
      return {
        port,
        process: child,
        async stop() {
          await stopNginx(child);
          removeOwnDir();
        },
      };
    }
  } catch (error) {
    removeOwnDir();
    throw error;
  }
}

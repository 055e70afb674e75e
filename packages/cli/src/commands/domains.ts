import { isIP } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidPayloadError, parseNewTrackingDomainInput, parseTrackingDomainHost, parseTrackingDomainUpdateInput, type Env } from '@mailbeacon/contracts';
import { DuplicateTrackingDomainError, ServerRepository, TrackingDomainRepository, UnknownServerError, type TrackingDomain } from '@mailbeacon/db';
import { checkTrackingDomain, type DomainCheckResult } from '@mailbeacon/domains';
import { UsageError, type CommandInput, type CommandOutput } from '../command';
import { withDatabase } from '../database-config';
import { lines, table } from '../text-output';

export const DOMAINS_USAGE = `mailbeacon domains add HOST --server TOKEN [--http] [--no-clicks] [--no-opens] [--exclude DOMAIN]...
  mailbeacon domains list [--server TOKEN] [--json]
  mailbeacon domains update HOST [--ssl|--http] [--clicks|--no-clicks] [--opens|--no-opens] [--exclude DOMAIN]... [--no-exclude]
  mailbeacon domains remove HOST
  mailbeacon domains check HOST [--address IP] [--port N] [--timeout MS]`;

/** A mistake the operator fixes by naming something that exists (or does not yet): exit status 1. */
class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

const notATrackingDomain = (host: string) => new NotFoundError(`${host} is not a tracking domain (see mailbeacon domains list)`);

const ok = (stdout: string[], code = 0): CommandOutput => ({ stdout: lines(stdout), stderr: '', code });


function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(subcommand: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${subcommand}: ${(error as Error).message}`);
  }
}

/** The HOST positional of add/update/remove/check: exactly one. */
function oneHost(subcommand: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${subcommand} takes one HOST${positionals.length ? ` (got ${positionals.join(' ')})` : ''}`);
  return positionals[0];
}

const onOff = (value: boolean) => (value ? 'on' : 'off');

function describeSettings(domain: TrackingDomain): string {
  const excluded = domain.excludedDomains.length ? `, not tracking links to ${domain.excludedDomains.join(', ')}` : '';
  return `${domain.ssl ? 'https' : 'http'}, clicks ${onOff(domain.trackClicks)}, opens ${onOff(domain.trackOpens)}${excluded}`;
}

// ---- add / list / update / remove -------------------------------------------------------

async function addDomain(args: string[], env: Env): Promise<CommandOutput> {
  const { values, positionals } = parseOptions('add', args, {
    server: { type: 'string' },
    http: { type: 'boolean', default: false },
    'no-clicks': { type: 'boolean', default: false },
    'no-opens': { type: 'boolean', default: false },
    exclude: { type: 'string', multiple: true, default: [] },
  });
  const host = oneHost('add', positionals);
  if (values.server === undefined) throw new UsageError('add: --server TOKEN is required (see mailbeacon servers list)');
  const input = parseNewTrackingDomainInput({
    host,
    server: values.server,
    ssl: !values.http,
    trackClicks: !values['no-clicks'],
    trackOpens: !values['no-opens'],
    excludedDomains: values.exclude,
  });
  const domain = await withDatabase(env, (db) => new TrackingDomainRepository(db).add(input));
  return ok([
    `added ${domain.host} for server ${domain.server} (${describeSettings(domain)})`,
    `next: point ${domain.host} at your tracker (CNAME), then run: mailbeacon domains check ${domain.host}`,
  ]);
}

function verificationCell(domain: TrackingDomain): string {
  const { status, checkedAt } = domain.verification;
  return checkedAt ? `${status} ${checkedAt.toISOString()}` : status;
}

async function listDomains(args: string[], env: Env): Promise<CommandOutput> {
  const { values, positionals } = parseOptions('list', args, { server: { type: 'string' }, json: { type: 'boolean', default: false } });
  if (positionals.length) throw new UsageError(`list takes no HOST (got ${positionals.join(' ')})`);
  const domains = await withDatabase(env, async (db) => {
    // An unknown token would otherwise look like a server without domains.
    if (values.server !== undefined && !(await new ServerRepository(db).findByToken(values.server))) throw new NotFoundError(`no server with token ${values.server}`);
    return new TrackingDomainRepository(db).list(values.server);
  });
  if (values.json) {
    const rows = domains.map(({ host, server, ssl, trackClicks, trackOpens, excludedDomains, verification }) => ({ host, server, ssl, trackClicks, trackOpens, excludedDomains, verification }));
    return ok([JSON.stringify(rows, null, 2)]);
  }
  if (domains.length === 0) return { stdout: '', stderr: 'no tracking domains: add one with `mailbeacon domains add HOST --server TOKEN`\n', code: 0 };
  const rows = domains.map((d) => [d.host, d.server, d.ssl ? 'https' : 'http', onOff(d.trackClicks), onOff(d.trackOpens), d.excludedDomains.join(',') || '-', verificationCell(d)]);
  return { stdout: table(['HOST', 'SERVER', 'SSL', 'CLICKS', 'OPENS', 'EXCLUDED', 'VERIFIED'], rows), stderr: '', code: 0 };
}

/** `--a` → true, `--b` → false, neither → unchanged; both is a contradiction. */
function eitherFlag(on: boolean | undefined, off: boolean | undefined, names: string): boolean | undefined {
  if (on && off) throw new UsageError(`update: give only one of ${names}`);
  return on ? true : off ? false : undefined;
}

async function updateDomain(args: string[], env: Env): Promise<CommandOutput> {
  const { values, positionals } = parseOptions('update', args, {
    ssl: { type: 'boolean' },
    http: { type: 'boolean' },
    clicks: { type: 'boolean' },
    'no-clicks': { type: 'boolean' },
    opens: { type: 'boolean' },
    'no-opens': { type: 'boolean' },
    exclude: { type: 'string', multiple: true },
    'no-exclude': { type: 'boolean' },
  });
  const host = parseTrackingDomainHost(oneHost('update', positionals));
  if (values.exclude && values['no-exclude']) throw new UsageError('update: give --exclude DOMAIN... (replaces the list) or --no-exclude (clears it), not both');
  const changes = {
    ssl: eitherFlag(values.ssl, values.http, '--ssl and --http'),
    trackClicks: eitherFlag(values.clicks, values['no-clicks'], '--clicks and --no-clicks'),
    trackOpens: eitherFlag(values.opens, values['no-opens'], '--opens and --no-opens'),
    // The list is replaced as a whole, like the admin API's PATCH: what is given is what applies.
    excludedDomains: values['no-exclude'] ? [] : values.exclude,
  };
  if (Object.values(changes).every((value) => value === undefined)) throw new UsageError('update: give at least one of --ssl, --http, --clicks, --no-clicks, --opens, --no-opens, --exclude, --no-exclude');
  const settings = parseTrackingDomainUpdateInput(Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)));
  const domain = await withDatabase(env, (db) => new TrackingDomainRepository(db).update(host, settings));
  if (!domain) throw notATrackingDomain(host);
  return ok([`updated ${domain.host} (${describeSettings(domain)})`]);
}

async function removeDomain(args: string[], env: Env): Promise<CommandOutput> {
  const { positionals } = parseOptions('remove', args, {});
  const host = parseTrackingDomainHost(oneHost('remove', positionals));
  if (!(await withDatabase(env, (db) => new TrackingDomainRepository(db).remove(host)))) throw notATrackingDomain(host);
  return ok([`removed ${host}`]);
}

// ---- check ------------------------------------------------------------------------------

function integerOption(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`check: ${name} must be an integer from ${min} to ${max} (got ${raw})`);
  return value;
}

function report(result: DomainCheckResult, addressGiven: boolean): string[] {
  const steps = result.steps.map((step) => {
    // With --address, a DNS failure is only informational: not a ✗ on a domain that is ready.
    const mark = step.ok ? '✓' : step.name === 'dns' && addressGiven ? '–' : '✗';
    return `${mark} ${step.name.padEnd(4)} ${step.detail}`;
  });
  const advice = result.advice.length ? ['', 'to fix:', ...result.advice.map((line) => `  - ${line}`)] : [];
  return [...steps, '', result.verdict, ...advice];
}

async function checkDomain(args: string[], env: Env): Promise<CommandOutput> {
  const { values, positionals } = parseOptions('check', args, { address: { type: 'string' }, port: { type: 'string' }, timeout: { type: 'string' } });
  const host = parseTrackingDomainHost(oneHost('check', positionals));
  if (values.address !== undefined && isIP(values.address) === 0) throw new UsageError(`check: --address must be an IP address (got ${values.address})`);
  const options = {
    address: values.address,
    port: integerOption('--port', values.port, 1, 65535),
    timeoutMs: integerOption('--timeout', values.timeout, 1, 600_000),
  };
  return withDatabase(env, async (db) => {
    const domains = new TrackingDomainRepository(db);
    const domain = await domains.findByHost(host);
    if (!domain) throw notATrackingDomain(host);
    const result = await checkTrackingDomain(domain.host, domain.ssl, options);
    // Recorded so `domains list` (and the admin API) show which domains were proven to work, and when.
    await domains.recordCheck(domain.host, result.ok ? 'ok' : 'failed', result.verdict);
    return ok(report(result, options.address !== undefined), result.ok ? 0 : 1);
  });
}

// ---- dispatch ---------------------------------------------------------------------------

const SUBCOMMANDS: Record<string, (args: string[], env: Env) => Promise<CommandOutput>> = {
  add: addDomain,
  list: listDomains,
  update: updateDomain,
  remove: removeDomain,
  check: checkDomain,
};

export async function domainsCommand({ args, env }: CommandInput): Promise<CommandOutput> {
  const [name, ...rest] = args;
  const subcommand = name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  const names = Object.keys(SUBCOMMANDS).join(', ');
  if (!subcommand) throw new UsageError(name === undefined ? `give a subcommand: ${names}` : `unknown subcommand ${JSON.stringify(name)} (${names})`);
  const failed = (messages: string[], code: number): CommandOutput => ({ stdout: '', stderr: lines(messages.map((message) => `mailbeacon domains ${name}: ${message}`)), code });
  try {
    return await subcommand(rest, env);
  } catch (error) {
    // The same field names as the admin API, since both validate with the contracts' schemas;
    // a bare HOST is validated on its own, so its issue has no path of its own.
    if (error instanceof InvalidPayloadError) return failed(error.issues.map((issue) => `${issue.path === '(root)' ? error.payload : issue.path}: ${issue.message}`), 2);
    if (error instanceof UnknownServerError || error instanceof DuplicateTrackingDomainError || error instanceof NotFoundError) return failed([error.message], 1);
    throw error;
  }
}

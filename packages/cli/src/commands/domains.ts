import { isIP } from 'node:net';
import { parseNewTrackingDomainInput, parseTrackingDomainHost, parseTrackingDomainUpdateInput } from '@mailbeacon/contracts';
import { ServerRepository, TrackingDomainRepository, type TrackingDomain } from '@mailbeacon/db';
import { checkTrackingDomain, type DomainCheckResult } from '@mailbeacon/domains';
import { NotFoundError, UsageError, type Command, type CommandOutput } from '../command';
import { exactly, parseCommandLine } from '../command-line';
import { withDatabase } from '../database-config';
import { jsonOutput, lines, table } from '../text-output';

const notATrackingDomain = (host: string) => new NotFoundError(`${host} is not a tracking domain (see mailbeacon domains list)`);

const ok = (stdout: string[], code = 0): CommandOutput => ({ stdout: lines(stdout), stderr: '', code });

const onOff = (value: boolean) => (value ? 'on' : 'off');

function describeSettings(domain: TrackingDomain): string {
  const excluded = domain.excludedDomains.length ? `, not tracking links to ${domain.excludedDomains.join(', ')}` : '';
  return `${domain.ssl ? 'https' : 'http'}, clicks ${onOff(domain.trackClicks)}, opens ${onOff(domain.trackOpens)}${excluded}`;
}

// ---- add / list / update / remove -------------------------------------------------------

const addDomain: Command = {
  name: 'domains add',
  synopsis: 'HOST --server TOKEN [--http] [--no-clicks] [--no-opens] [--exclude DOMAIN]...',
  help: `Adds a tracking domain for a server. Point HOST at your tracker first (CNAME), then run
mailbeacon domains check HOST.

  HOST              a domain name such as click.example.com (not an IP address)
  --server TOKEN    the owning server (see mailbeacon servers list)
  --http            http:// tracking URLs (https is the default and strongly recommended)
  --no-clicks       do not track clicks
  --no-opens        do not add the open pixel
  --exclude DOMAIN  never track links to DOMAIN and its subdomains (repeatable)`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, {
      server: { type: 'string' },
      http: { type: 'boolean' },
      'no-clicks': { type: 'boolean' },
      'no-opens': { type: 'boolean' },
      exclude: { type: 'string', multiple: true },
    });
    const [host] = exactly(positionals, ['HOST']);
    if (values.server === undefined) throw new UsageError('--server TOKEN is required (see mailbeacon servers list)');
    const input = parseNewTrackingDomainInput({
      host,
      server: values.server,
      ssl: !values.http,
      trackClicks: !values['no-clicks'],
      trackOpens: !values['no-opens'],
      excludedDomains: values.exclude ?? [],
    });
    const domain = await withDatabase(env, (db) => new TrackingDomainRepository(db).add(input));
    return ok([
      `added ${domain.host} for server ${domain.server} (${describeSettings(domain)})`,
      `next: point ${domain.host} at your tracker (CNAME), then run: mailbeacon domains check ${domain.host}`,
    ]);
  },
};

function verificationCell(domain: TrackingDomain): string {
  const { status, checkedAt } = domain.verification;
  return checkedAt ? `${status} ${checkedAt.toISOString()}` : status;
}

const listDomains: Command = {
  name: 'domains list',
  synopsis: '[--server TOKEN] [--json]',
  help: `Lists the tracking domains, their settings and their last check.

  --server TOKEN  only this server's
  --json          as a JSON array`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, { server: { type: 'string' }, json: { type: 'boolean' } });
    exactly(positionals, []);
    const domains = await withDatabase(env, async (db) => {
      // An unknown token would otherwise look like a server without domains.
      if (values.server !== undefined && !(await new ServerRepository(db).findByToken(values.server))) throw new NotFoundError(`no server with token ${values.server}`);
      return new TrackingDomainRepository(db).list(values.server);
    });
    if (values.json) {
      const rows = domains.map(({ host, server, ssl, trackClicks, trackOpens, excludedDomains, verification }) => ({ host, server, ssl, trackClicks, trackOpens, excludedDomains, verification }));
      return { stdout: jsonOutput(rows), stderr: '', code: 0 };
    }
    if (domains.length === 0) return { stdout: '', stderr: 'no tracking domains: add one with `mailbeacon domains add HOST --server TOKEN`\n', code: 0 };
    const rows = domains.map((d) => [d.host, d.server, d.ssl ? 'https' : 'http', onOff(d.trackClicks), onOff(d.trackOpens), d.excludedDomains.join(',') || '-', verificationCell(d)]);
    return { stdout: table(['HOST', 'SERVER', 'SSL', 'CLICKS', 'OPENS', 'EXCLUDED', 'VERIFIED'], rows), stderr: '', code: 0 };
  },
};

/** `--a` → true, `--b` → false, neither → unchanged; both is a contradiction. */
function eitherFlag(on: boolean | undefined, off: boolean | undefined, names: string): boolean | undefined {
  if (on && off) throw new UsageError(`give only one of ${names}`);
  return on ? true : off ? false : undefined;
}

const updateDomain: Command = {
  name: 'domains update',
  synopsis: 'HOST [--ssl|--http] [--clicks|--no-clicks] [--opens|--no-opens] [--exclude DOMAIN]... [--no-exclude]',
  help: `Changes a tracking domain's settings; those not given stay as they are.

  --ssl | --http              https or http tracking URLs
  --clicks | --no-clicks      track clicks or not
  --opens | --no-opens        add the open pixel or not
  --exclude DOMAIN            replaces the excluded link domains (repeatable)
  --no-exclude                clears them`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, {
      ssl: { type: 'boolean' },
      http: { type: 'boolean' },
      clicks: { type: 'boolean' },
      'no-clicks': { type: 'boolean' },
      opens: { type: 'boolean' },
      'no-opens': { type: 'boolean' },
      exclude: { type: 'string', multiple: true },
      'no-exclude': { type: 'boolean' },
    });
    const host = parseTrackingDomainHost(exactly(positionals, ['HOST'])[0]);
    if (values.exclude && values['no-exclude']) throw new UsageError('give --exclude DOMAIN... (replaces the list) or --no-exclude (clears it), not both');
    const changes = {
      ssl: eitherFlag(values.ssl, values.http, '--ssl and --http'),
      trackClicks: eitherFlag(values.clicks, values['no-clicks'], '--clicks and --no-clicks'),
      trackOpens: eitherFlag(values.opens, values['no-opens'], '--opens and --no-opens'),
      // The list is replaced as a whole, like the admin API's PATCH: what is given is what applies.
      excludedDomains: values['no-exclude'] ? [] : values.exclude,
    };
    if (Object.values(changes).every((value) => value === undefined)) throw new UsageError('give at least one of --ssl, --http, --clicks, --no-clicks, --opens, --no-opens, --exclude, --no-exclude');
    const settings = parseTrackingDomainUpdateInput(Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)));
    const domain = await withDatabase(env, (db) => new TrackingDomainRepository(db).update(host, settings));
    if (!domain) throw notATrackingDomain(host);
    return ok([`updated ${domain.host} (${describeSettings(domain)})`]);
  },
};

const removeDomain: Command = {
  name: 'domains remove',
  synopsis: 'HOST',
  help: 'Removes a tracking domain: links already sent through it are no longer counted.',
  async run({ args, env }) {
    const host = parseTrackingDomainHost(exactly(parseCommandLine(args, {}).positionals, ['HOST'])[0]);
    if (!(await withDatabase(env, (db) => new TrackingDomainRepository(db).remove(host)))) throw notATrackingDomain(host);
    return ok([`removed ${host}`]);
  },
};

// ---- check ------------------------------------------------------------------------------

function integerOption(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`${name} must be an integer from ${min} to ${max} (got ${raw})`);
  return value;
}

/** One line per step, then the verdict and the advice: text from DNS and the proxy's answers, escaped by lines(). */
function report(result: DomainCheckResult, addressGiven: boolean): string[] {
  const steps = result.steps.map((step) => {
    // With --address, a DNS failure is only informational: not a ✗ on a domain that is ready.
    const mark = step.ok ? '✓' : step.name === 'dns' && addressGiven ? '–' : '✗';
    return `${mark} ${step.name.padEnd(4)} ${step.detail}`;
  });
  const advice = result.advice.length ? ['', 'to fix:', ...result.advice.map((line) => `  - ${line}`)] : [];
  return [...steps, '', result.verdict, ...advice];
}

const checkDomain: Command = {
  name: 'domains check',
  synopsis: 'HOST [--address IP] [--port N] [--timeout MS]',
  help: `Proves the setup: DNS (CNAME, else A/AAAA), then GET / through HOST answering "Hello.";
prints each step, the verdict and what to fix, and records the result. Exit status 0 when the
domain is ready, 1 when not.

  --address IP   connect to this address instead of what DNS says (a proxy not in DNS yet)
  --port N       and to this port
  --timeout MS   for each step`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, { address: { type: 'string' }, port: { type: 'string' }, timeout: { type: 'string' } });
    const host = parseTrackingDomainHost(exactly(positionals, ['HOST'])[0]);
    if (values.address !== undefined && isIP(values.address) === 0) throw new UsageError(`--address must be an IP address (got ${values.address})`);
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
  },
};

export const DOMAINS_COMMANDS: Command[] = [addDomain, listDomains, updateDomain, removeDomain, checkDomain];

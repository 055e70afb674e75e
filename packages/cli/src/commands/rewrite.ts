import { rewriteMessage } from '@mailbeacon/rewrite';
import { UsageError, type Command, type CommandInput, type CommandOutput } from '../command';
import { exactly, parseCommandLine } from '../command-line';
import { commandSigningKeys } from '../signing-keys';
import { lines } from '../text-output';

export const REWRITE_COMMAND: Command = {
  name: 'rewrite',
  synopsis: '--tracking-domain HOST [--server TOKEN] [--http] [--no-clicks] [--no-opens] [--exclude DOMAIN]... [--signs-after-tracking] < in.eml > out.eml',
  help: `Reads a message on stdin and prints it as it will be sent, tracked; why the message or a
part of it is left alone goes to stderr.

  --tracking-domain HOST   the tracking host of the links and the pixel
  --server TOKEN           the sending server's token (default preview)
  --http                   http:// tracking URLs (https is the default and strongly recommended)
  --no-clicks              do not track clicks
  --no-opens               do not add the open pixel
  --exclude DOMAIN         never track links to DOMAIN and its subdomains (repeatable)
  --signs-after-tracking   track a message already carrying a DKIM-Signature (only if your
                           platform signs again afterwards)`,
  run: (input) => rewriteCommand(input),
};

/** Previews a message as it will be sent: the tracked message on stdout, why it was left alone on stderr. */
export async function rewriteCommand(input: CommandInput): Promise<CommandOutput> {
  const { values, positionals } = parseCommandLine(input.args, {
    'tracking-domain': { type: 'string' },
    server: { type: 'string' },
    http: { type: 'boolean' },
    'no-clicks': { type: 'boolean' },
    'no-opens': { type: 'boolean' },
    exclude: { type: 'string', multiple: true },
    'signs-after-tracking': { type: 'boolean' },
  });
  exactly(positionals, []);
  if (!values['tracking-domain']) throw new UsageError('--tracking-domain HOST is required');

  const { keys, notice } = commandSigningKeys(input);
  const raw = await input.readStdin();
  const result = await rewriteMessage(raw, {
    trackingDomain: values['tracking-domain'],
    server: values.server ?? 'preview',
    ssl: !values.http,
    trackClicks: !values['no-clicks'],
    trackOpens: !values['no-opens'],
    excludedDomains: values.exclude ?? [],
    signsAfterTracking: values['signs-after-tracking'] ?? false,
    keys,
  });
  const stderr = [
    ...(result.skipped ? [`untracked: ${result.skipped}`] : []),
    ...result.notes.map((note) => `note: ${note}`),
  ];
  return { stdout: result.raw, stderr: notice + lines(stderr), code: 0 };
}

import { parseArgs } from 'node:util';
import { rewriteMessage } from '@mailbeacon/rewrite';
import { UsageError, type CommandInput, type CommandOutput } from '../command';
import { commandSigningKeys } from '../signing-keys';

export const REWRITE_USAGE =
  'mailbeacon rewrite --tracking-domain HOST [--server TOKEN] [--http] [--no-clicks] [--no-opens] [--exclude DOMAIN]... [--signs-after-tracking] < in.eml > out.eml';

/** Previews a message as it will be sent: the tracked message on stdout, why it was left alone on stderr. */
export async function rewriteCommand(input: CommandInput): Promise<CommandOutput> {
  let values;
  try {
    ({ values } = parseArgs({
      args: input.args,
      options: {
        'tracking-domain': { type: 'string' },
        server: { type: 'string', default: 'preview' },
        http: { type: 'boolean', default: false },
        'no-clicks': { type: 'boolean', default: false },
        'no-opens': { type: 'boolean', default: false },
        exclude: { type: 'string', multiple: true, default: [] },
        'signs-after-tracking': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values['tracking-domain']) throw new UsageError('--tracking-domain HOST is required');

  const { keys, notice } = commandSigningKeys(input);
  const raw = await input.readStdin();
  const result = await rewriteMessage(raw, {
    trackingDomain: values['tracking-domain'],
    server: values.server,
    ssl: !values.http,
    trackClicks: !values['no-clicks'],
    trackOpens: !values['no-opens'],
    excludedDomains: values.exclude,
    signsAfterTracking: values['signs-after-tracking'],
    keys,
  });
  const stderr = [
    ...(result.skipped ? [`untracked: ${result.skipped}`] : []),
    ...result.notes.map((note) => `note: ${note}`),
  ];
  return { stdout: result.raw, stderr: notice + stderr.map((line) => `${line}\n`).join(''), code: 0 };
}

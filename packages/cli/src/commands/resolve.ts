import { verifyLink, verifyPixel } from '@mailbeacon/links';
import { UsageError, type CommandInput, type CommandOutput } from '../command';
import { commandSigningKeys } from '../signing-keys';

export const RESOLVE_USAGE = 'mailbeacon resolve URL...';

/** One line per URL: where a tracked link leads (or what a pixel is for), or `invalid <reason>`. */
export async function resolveCommand(input: CommandInput): Promise<CommandOutput> {
  const { args } = input;
  if (args.length === 0) throw new UsageError('give at least one URL');
  const { keys, notice } = commandSigningKeys(input);
  let invalid = 0;
  const lines = args.map((url) => {
    const link = verifyLink(keys, url);
    if (link.ok) return link.value.url;
    const pixel = verifyPixel(keys, url);
    if (pixel.ok) return `open pixel of message ${pixel.value.messageToken} (server ${pixel.value.server})`;
    invalid++;
    // A pixel-shaped URL is reported with the pixel's reason, anything else with the link's.
    const reason = link.reason === 'not a click link' && pixel.reason !== 'not an open pixel' ? pixel.reason : link.reason;
    return `invalid ${reason}`;
  });
  return { stdout: lines.map((l) => `${l}\n`).join(''), stderr: notice, code: invalid > 0 ? 1 : 0 };
}

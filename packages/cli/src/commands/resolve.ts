import { verifyLink, verifyPixel } from '@mailbeacon/links';
import { UsageError, type Command, type CommandInput, type CommandOutput } from '../command';
import { parseCommandLine } from '../command-line';
import { commandSigningKeys } from '../signing-keys';
import { lines } from '../text-output';

export const RESOLVE_COMMAND: Command = {
  name: 'resolve',
  synopsis: 'URL...',
  help: `Prints, for each tracking URL, the destination a link leads to, what a pixel is for, or
invalid <reason> (bad signature, unknown signing key, malformed…). Exit status 1 if any URL is
invalid. Control characters in a destination are printed as \\u escapes.`,
  run: (input) => resolveCommand(input),
};

/** One line per URL: where a tracked link leads (or what a pixel is for), or `invalid <reason>`. */
export async function resolveCommand(input: CommandInput): Promise<CommandOutput> {
  const urls = parseCommandLine(input.args, {}).positionals;
  if (urls.length === 0) throw new UsageError('give at least one URL');
  const { keys, notice } = commandSigningKeys(input);
  let invalid = 0;
  const results = urls.map((url) => {
    const link = verifyLink(keys, url);
    if (link.ok) return link.value.url;
    const pixel = verifyPixel(keys, url);
    if (pixel.ok) return `open pixel of message ${pixel.value.messageToken} (server ${pixel.value.server})`;
    invalid++;
    // A pixel-shaped URL is reported with the pixel's reason, anything else with the link's.
    const reason = link.reason === 'not a click link' && pixel.reason !== 'not an open pixel' ? pixel.reason : link.reason;
    return `invalid ${reason}`;
  });
  // A signed destination may hold control characters: lines() shows them escaped, one URL a line.
  return { stdout: lines(results), stderr: notice, code: invalid > 0 ? 1 : 0 };
}

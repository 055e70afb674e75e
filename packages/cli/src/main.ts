import { ConfigError } from '@mailbeacon/contracts';
import { UsageError, type CommandInput, type CommandOutput } from './command';
import { domainsCommand, DOMAINS_USAGE } from './commands/domains';
import { migrateCommand, MIGRATE_USAGE } from './commands/migrate';
import { resolveCommand, RESOLVE_USAGE } from './commands/resolve';
import { rewriteCommand, REWRITE_USAGE } from './commands/rewrite';
import { serversCommand, SERVERS_USAGE } from './commands/servers';

const COMMANDS: Record<string, (input: CommandInput) => Promise<CommandOutput>> = {
  rewrite: rewriteCommand,
  resolve: resolveCommand,
  migrate: migrateCommand,
  servers: serversCommand,
  domains: domainsCommand,
};

export const USAGE = `Usage:
  ${REWRITE_USAGE}
  ${RESOLVE_USAGE}
  ${MIGRATE_USAGE}
  ${SERVERS_USAGE}
  ${DOMAINS_USAGE}

Signing key (rewrite, resolve): MAILBEACON_SECRET, else the file MAILBEACON_SECRET_FILE, else the checkout's var/mailbeacon.secret
  (made by npm start), else the public development key; previous keys, still accepted: MAILBEACON_PREVIOUS_SECRETS, comma-separated.
Database (migrate, servers, domains): DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mailbeacon).
`;

/** Runs one command line; never throws. */
export async function runCli(input: CommandInput): Promise<CommandOutput> {
  const [name, ...args] = input.args;
  if (!name || name === 'help' || name === '--help' || name === '-h') return { stdout: USAGE, stderr: '', code: name ? 0 : 2 };
  const command = COMMANDS[name];
  if (!command) return { stdout: '', stderr: `mailbeacon: unknown command ${JSON.stringify(name)}\n\n${USAGE}`, code: 2 };
  try {
    return await command({ ...input, args });
  } catch (error) {
    if (error instanceof UsageError) return { stdout: '', stderr: `mailbeacon ${name}: ${error.message}\n\n${USAGE}`, code: 2 };
    if (error instanceof ConfigError) return { stdout: '', stderr: `mailbeacon: bad configuration:\n${error.message}\n`, code: 78 };
    return { stdout: '', stderr: `mailbeacon ${name}: ${(error as Error).message}\n`, code: 1 };
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** The process entry point used by bin/mailbeacon.js. */
export async function main(argv: string[]): Promise<void> {
  const output = await runCli({ args: argv, env: process.env, readStdin: () => readStream(process.stdin) });
  if (output.stderr) process.stderr.write(output.stderr);
  await new Promise<void>((resolve) => process.stdout.write(output.stdout, () => resolve()));
  process.exitCode = output.code;
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InvalidPayloadError } from '@mailbeacon/contracts';
import { UsageError, usageLine, type Command, type CommandInput, type CommandOutput } from './command';
import { asksForHelp } from './command-line';
import { DOMAINS_COMMANDS } from './commands/domains';
import { KEYS_COMMANDS } from './commands/keys';
import { MIGRATE_COMMAND } from './commands/migrate';
import { RESOLVE_COMMAND } from './commands/resolve';
import { REWRITE_COMMAND } from './commands/rewrite';
import { SERVERS_COMMANDS } from './commands/servers';
import { STATS_COMMAND } from './commands/stats';
import { lines, terminalSafe } from './text-output';

const COMMANDS: Command[] = [REWRITE_COMMAND, RESOLVE_COMMAND, MIGRATE_COMMAND, ...SERVERS_COMMANDS, ...DOMAINS_COMMANDS, STATS_COMMAND, ...KEYS_COMMANDS];

/** Words that name a group of commands (`servers`, `domains`) rather than a command. */
const GROUPS = [...new Set(COMMANDS.filter((command) => command.name.includes(' ')).map((command) => command.name.split(' ')[0]))];

const ENVIRONMENT = `Signing key (rewrite, resolve): MAILBEACON_SECRET, else the file MAILBEACON_SECRET_FILE, else the checkout's var/mailbeacon.secret
  (made by npm start), else the public development key; previous keys, still accepted: MAILBEACON_PREVIOUS_SECRETS, comma-separated.
Database (migrate, servers, domains, stats, keys): DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mailbeacon).`;

const EXIT_STATUSES = 'Exit status: 0 success, 1 error, 2 bad command line, 78 bad configuration.';

const usageOf = (commands: Command[]) => commands.map((command) => `  ${usageLine(command)}`).join('\n');

export const USAGE = `Usage:
${usageOf(COMMANDS)}
  mailbeacon --version

Run mailbeacon COMMAND --help (e.g. mailbeacon servers add --help) for what a command does.
${ENVIRONMENT}
${EXIT_STATUSES}
`;

const groupUsage = (group: string) => `Usage:\n${usageOf(COMMANDS.filter((command) => command.name.startsWith(`${group} `)))}\n\nRun mailbeacon ${group} SUBCOMMAND --help for more.\n`;

const commandHelp = (command: Command) => `Usage: ${usageLine(command)}\n\n${command.help}\n\n${ENVIRONMENT}\n${EXIT_STATUSES}\n`;

/** The package's version, read next to the compiled (or, under Jest, the source) files. */
function version(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

const help = (text: string): CommandOutput => ({ stdout: text, stderr: '', code: 0 });
const usageError = (name: string, message: string, usage: string): CommandOutput => ({ stdout: '', stderr: `mailbeacon${name ? ` ${name}` : ''}: ${message}\n${usage}`, code: 2 });

/** Which command the line names, and the arguments left for it; or what to print instead. */
function dispatch(args: string[]): { command: Command; rest: string[] } | CommandOutput {
  const [first, second, ...others] = args;
  if (first === undefined) return usageError('', 'give a command', USAGE);
  if (first === '--version' || first === '-V') return help(`mailbeacon ${version()}\n`);
  if (first === '--help' || first === '-h') return help(USAGE);
  // `mailbeacon help servers add` is `mailbeacon servers add --help`.
  if (first === 'help') return args.length === 1 ? help(USAGE) : dispatch([...args.slice(1), '--help']);
  if (GROUPS.includes(first)) {
    const subcommands = COMMANDS.filter((command) => command.name.startsWith(`${first} `));
    const names = subcommands.map((command) => command.name.split(' ')[1]).join(', ');
    if (second === undefined) return usageError(first, `give a subcommand: ${names}`, groupUsage(first));
    if (second === '--help' || second === '-h') return help(groupUsage(first));
    const command = subcommands.find((candidate) => candidate.name === `${first} ${second}`);
    if (!command) return usageError(first, `unknown subcommand ${JSON.stringify(second)} (${names})`, groupUsage(first));
    return { command, rest: others };
  }
  const command = COMMANDS.find((candidate) => candidate.name === first);
  const names = [...new Set(COMMANDS.map((candidate) => candidate.name.split(' ')[0]))].join(', ');
  if (!command) return usageError('', `unknown command ${JSON.stringify(first)} (${names}; mailbeacon --help for their usage)`, '');
  return { command, rest: args.slice(1) };
}

async function run(input: CommandInput): Promise<CommandOutput> {
  const found = dispatch(input.args);
  if (!('command' in found)) return found;
  const { command, rest } = found;
  if (asksForHelp(rest)) return help(commandHelp(command));
  const failed = (messages: string[], code: number): CommandOutput => ({ stdout: '', stderr: lines(messages.map((message) => `mailbeacon ${command.name}: ${message}`)), code });
  try {
    return await command.run({ ...input, args: rest });
  } catch (error) {
    // Only this command's usage, not every command's.
    if (error instanceof UsageError) return usageError(command.name, error.message, `usage: ${usageLine(command)}\n(mailbeacon ${command.name} --help for more)\n`);
    // The same field names as the admin API, since both validate with the contracts' schemas;
    // a bare HOST or TOKEN is validated on its own, so its issue is named by what it is.
    if (error instanceof InvalidPayloadError) return failed(error.issues.map((issue) => `${issue.path === '(root)' ? error.payload : issue.path}: ${issue.message}`), 2);
    if (error instanceof ConfigError) return { stdout: '', stderr: `mailbeacon: bad configuration:\n${error.message}\n`, code: 78 };
    return failed([(error as Error).message], 1);
  }
}

/** Runs one command line; never throws. Nothing it prints carries a raw control character. */
export async function runCli(input: CommandInput): Promise<CommandOutput> {
  const output = await run(input);
  return { stdout: typeof output.stdout === 'string' ? terminalSafe(output.stdout) : output.stdout, stderr: terminalSafe(output.stderr), code: output.code };
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

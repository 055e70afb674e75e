import { parseArgs } from 'node:util';
import { InvalidPayloadError, parseNewServerInput } from '@mailbeacon/contracts';
import { ServerRepository } from '@mailbeacon/db';
import { UsageError, type CommandInput, type CommandOutput } from '../command';
import { withDatabase } from '../database-config';
import { lines, table } from '../text-output';

export const SERVERS_USAGE = `mailbeacon servers add NAME
  mailbeacon servers list [--json]`;



/** Prints the token alone on stdout, so `TOKEN=$(mailbeacon servers add Acme)` works; the rest goes to stderr. */
async function addServer(args: string[], env: CommandInput['env']): Promise<CommandOutput> {
  if (args.length !== 1) throw new UsageError('add takes one NAME (quote it if it has spaces)');
  const input = parseNewServerInput({ name: args[0] });
  const server = await withDatabase(env, (db) => new ServerRepository(db).create(input.name));
  return { stdout: `${server.token}\n`, stderr: `created server ${JSON.stringify(server.name)} with token ${server.token}\n`, code: 0 };
}

async function listServers(args: string[], env: CommandInput['env']): Promise<CommandOutput> {
  let json: boolean | undefined;
  try {
    ({ values: { json } } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`list: ${(error as Error).message}`);
  }
  const servers = await withDatabase(env, (db) => new ServerRepository(db).list());
  if (json) return { stdout: `${JSON.stringify(servers.map(({ token, name, createdAt }) => ({ token, name, createdAt })), null, 2)}\n`, stderr: '', code: 0 };
  if (servers.length === 0) return { stdout: '', stderr: 'no servers yet: add one with `mailbeacon servers add NAME`\n', code: 0 };
  return { stdout: table(['TOKEN', 'NAME', 'CREATED'], servers.map((server) => [server.token, server.name, server.createdAt.toISOString()])), stderr: '', code: 0 };
}

const SUBCOMMANDS: Record<string, (args: string[], env: CommandInput['env']) => Promise<CommandOutput>> = { add: addServer, list: listServers };

export async function serversCommand({ args, env }: CommandInput): Promise<CommandOutput> {
  const [name, ...rest] = args;
  const subcommand = name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!subcommand) throw new UsageError(name === undefined ? 'give a subcommand: add or list' : `unknown subcommand ${JSON.stringify(name)} (add or list)`);
  try {
    return await subcommand(rest, env);
  } catch (error) {
    // The same field names as the admin API, since both validate with the contracts' schemas.
    if (error instanceof InvalidPayloadError) {
      return { stdout: '', stderr: lines(error.issues.map((issue) => `mailbeacon servers ${name}: ${issue.path}: ${issue.message}`)), code: 2 };
    }
    throw error;
  }
}

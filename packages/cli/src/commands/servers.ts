import { parseNewServerInput, parseServerToken } from '@mailbeacon/contracts';
import { ServerRepository } from '@mailbeacon/db';
import { NotFoundError, type Command } from '../command';
import { exactly, parseCommandLine } from '../command-line';
import { withDatabase } from '../database-config';
import { jsonOutput, lines, table } from '../text-output';

const noSuchServer = (token: string) => new NotFoundError(`no server with token ${token} (see mailbeacon servers list)`);

/** Prints the token alone on stdout, so `TOKEN=$(mailbeacon servers add Acme)` works; the rest goes to stderr. */
const addServer: Command = {
  name: 'servers add',
  synopsis: 'NAME',
  help: `Creates a sending server and prints its token alone on stdout (for scripts).

  NAME  1-200 characters, quoted if it has spaces; no control characters, no leading -`,
  async run({ args, env }) {
    const [name] = exactly(parseCommandLine(args, {}).positionals, ['NAME'], 'quote a NAME that has spaces');
    const input = parseNewServerInput({ name });
    const server = await withDatabase(env, (db) => new ServerRepository(db).create(input.name));
    return { stdout: `${server.token}\n`, stderr: lines([`created server "${server.name}" with token ${server.token}`]), code: 0 };
  },
};

const listServers: Command = {
  name: 'servers list',
  synopsis: '[--json]',
  help: `Lists the servers: token, name, creation time.

  --json  as a JSON array of { token, name, createdAt }`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, { json: { type: 'boolean' } });
    exactly(positionals, []);
    const servers = await withDatabase(env, (db) => new ServerRepository(db).list());
    if (values.json) return { stdout: jsonOutput(servers.map(({ token, name, createdAt }) => ({ token, name, createdAt }))), stderr: '', code: 0 };
    if (servers.length === 0) return { stdout: '', stderr: 'no servers yet: add one with `mailbeacon servers add NAME`\n', code: 0 };
    return { stdout: table(['TOKEN', 'NAME', 'CREATED'], servers.map((server) => [server.token, server.name, server.createdAt.toISOString()])), stderr: '', code: 0 };
  },
};

const renameServer: Command = {
  name: 'servers rename',
  synopsis: 'TOKEN NAME',
  help: `Gives a server a new name; its token (in every tracking URL already sent) stays.

  TOKEN  the server's token (see mailbeacon servers list)
  NAME   the new name, as for servers add`,
  async run({ args, env }) {
    const [rawToken, name] = exactly(parseCommandLine(args, {}).positionals, ['TOKEN', 'NAME'], 'quote a NAME that has spaces');
    const token = parseServerToken(rawToken);
    const input = parseNewServerInput({ name });
    const server = await withDatabase(env, (db) => new ServerRepository(db).rename(token, input.name));
    if (!server) throw noSuchServer(token);
    return { stdout: lines([`renamed server ${server.token} to "${server.name}"`]), stderr: '', code: 0 };
  },
};

const removeServer: Command = {
  name: 'servers remove',
  synopsis: 'TOKEN',
  help: `Removes a server. Refused while it has tracking domains or API keys in force: remove
them first (mailbeacon domains list --server TOKEN, mailbeacon domains remove HOST;
mailbeacon keys list --server TOKEN, mailbeacon keys revoke ID). Its revoked keys go with it.

  TOKEN  the server's token (see mailbeacon servers list)`,
  async run({ args, env }) {
    const [rawToken] = exactly(parseCommandLine(args, {}).positionals, ['TOKEN']);
    const token = parseServerToken(rawToken);
    if (!(await withDatabase(env, (db) => new ServerRepository(db).remove(token)))) throw noSuchServer(token);
    return { stdout: lines([`removed server ${token}`]), stderr: '', code: 0 };
  },
};

export const SERVERS_COMMANDS: Command[] = [addServer, listServers, renameServer, removeServer];

import { parseApiKeyId, parseNewApiKeyInput, parseServerToken } from '@mailbeacon/contracts';
import { ApiKeyRepository, ServerRepository, UnknownServerError, type ApiKey } from '@mailbeacon/db';
import { NotFoundError, UsageError, type Command } from '../command';
import { exactly, parseCommandLine } from '../command-line';
import { withDatabase } from '../database-config';
import { jsonOutput, lines, table } from '../text-output';

const noSuchServer = (token: string) => new NotFoundError(`no server with token ${token} (see mailbeacon servers list)`);

/** Prints the key alone on stdout, so `KEY=$(mailbeacon keys create --server TOKEN)` works; it is never shown again. */
const createKey: Command = {
  name: 'keys create',
  synopsis: '--server TOKEN [--name NAME]',
  help: `Makes a read-only API key for one server's numbers (GET /servers/TOKEN/stats… and
/servers/TOKEN/messages… of the admin API) and prints it alone on stdout. It is shown this
once: only its hash is kept.

  --server TOKEN  the server whose numbers it reads (see mailbeacon servers list)
  --name NAME     who holds it, to tell keys apart (rules of a server name)`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, { server: { type: 'string' }, name: { type: 'string' } });
    exactly(positionals, [], 'quote a NAME that has spaces');
    if (values.server === undefined) throw new UsageError('--server TOKEN is required (see mailbeacon servers list)');
    const server = parseServerToken(values.server);
    const { name } = parseNewApiKeyInput(values.name === undefined ? {} : { name: values.name });
    const { key, apiKey } = await withDatabase(env, async (db) => {
      try {
        return await new ApiKeyRepository(db).create(server, name ?? null);
      } catch (error) {
        if (error instanceof UnknownServerError) throw noSuchServer(server);
        throw error;
      }
    });
    return { stdout: `${key}\n`, stderr: lines([`created API key ${apiKey.id} (${apiKey.prefix}…) for server ${apiKey.server}; it is shown this once: keep it`]), code: 0 };
  },
};

const keyJson = ({ id, server, name, prefix, createdAt, lastUsedAt, revokedAt }: ApiKey) => ({ id, server, name, prefix, createdAt, lastUsedAt, revokedAt });

const listKeys: Command = {
  name: 'keys list',
  synopsis: '[--server TOKEN] [--json]',
  help: `Lists the API keys, revoked ones included: id, server, the key's first characters, name,
creation, last use (updated at most once a minute) and revocation.

  --server TOKEN  only this server's
  --json          as a JSON array`,
  async run({ args, env }) {
    const { values, positionals } = parseCommandLine(args, { server: { type: 'string' }, json: { type: 'boolean' } });
    exactly(positionals, []);
    const server = values.server === undefined ? undefined : parseServerToken(values.server);
    const keys = await withDatabase(env, async (db) => {
      // An unknown token would otherwise look like a server without keys.
      if (server !== undefined && !(await new ServerRepository(db).findByToken(server))) throw noSuchServer(server);
      return new ApiKeyRepository(db).list(server);
    });
    if (values.json) return { stdout: jsonOutput(keys.map(keyJson)), stderr: '', code: 0 };
    if (keys.length === 0) return { stdout: '', stderr: 'no API keys: make one with `mailbeacon keys create --server TOKEN`\n', code: 0 };
    const time = (date: Date | null) => date?.toISOString() ?? '-';
    const rows = keys.map((key) => [String(key.id), key.server, `${key.prefix}…`, key.name ?? '-', time(key.createdAt), time(key.lastUsedAt), time(key.revokedAt)]);
    return { stdout: table(['ID', 'SERVER', 'KEY', 'NAME', 'CREATED', 'LAST USED', 'REVOKED'], rows), stderr: '', code: 0 };
  },
};

const revokeKey: Command = {
  name: 'keys revoke',
  synopsis: 'ID',
  help: `Revokes an API key at once: requests with it are refused (401) from now on. It stays in
mailbeacon keys list, with the time it was revoked.

  ID  the key's id (see mailbeacon keys list)`,
  async run({ args, env }) {
    const id = parseApiKeyId(exactly(parseCommandLine(args, {}).positionals, ['ID'])[0]);
    const key = await withDatabase(env, (db) => new ApiKeyRepository(db).revoke(id));
    if (!key) throw new NotFoundError(`no API key ${id} (see mailbeacon keys list)`);
    return { stdout: lines([`revoked API key ${key.id} (${key.prefix}…) of server ${key.server}`]), stderr: '', code: 0 };
  },
};

export const KEYS_COMMANDS: Command[] = [createKey, listKeys, revokeKey];

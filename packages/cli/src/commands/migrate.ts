import { createDatabase, databaseName, ensureDatabase, migrateToLatest, redact } from '@mailbeacon/db';
import type { Command, CommandInput, CommandOutput } from '../command';
import { exactly, parseCommandLine } from '../command-line';
import { databaseUrlFromEnv } from '../database-config';

export const MIGRATE_COMMAND: Command = {
  name: 'migrate',
  synopsis: '',
  help: `Creates the database named in DATABASE_URL if it is missing and applies the pending
migrations (every process also does this at start-up).`,
  run: (input) => migrateCommand(input),
};

/**
 * Creates the database when missing and applies pending migrations, saying what it did. The
 * processes do the same at start; this lets a deployment do it once, as its own step.
 */
export async function migrateCommand({ args, env }: CommandInput): Promise<CommandOutput> {
  exactly(parseCommandLine(args, {}).positionals, []);
  const url = databaseUrlFromEnv(env);
  const lines: string[] = [];
  try {
    if (await ensureDatabase(url)) lines.push(`created database ${databaseName(url)}`);
  } catch (error) {
    throw new Error(`cannot reach the database server of ${redact(url)} (DATABASE_URL): ${(error as Error).message}`);
  }
  const db = createDatabase(url, { maxConnections: 1 });
  try {
    const { results = [] } = await migrateToLatest(db);
    const applied = results.filter((result) => result.status === 'Success').map((result) => `applied ${result.migrationName}`);
    lines.push(...(applied.length ? applied : ['database is up to date']));
  } finally {
    await db.destroy();
  }
  return { stdout: lines.map((line) => `${line}\n`).join(''), stderr: '', code: 0 };
}

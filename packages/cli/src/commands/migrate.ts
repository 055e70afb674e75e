import { createDatabase, databaseName, ensureDatabase, migrateToLatest, redact } from '@mailbeacon/db';
import { UsageError, type CommandInput, type CommandOutput } from '../command';
import { databaseUrlFromEnv } from '../database-config';

export const MIGRATE_USAGE = 'mailbeacon migrate';

/**
 * Creates the database when missing and applies pending migrations, saying what it did. The
 * processes do the same at start; this lets a deployment do it once, as its own step.
 */
export async function migrateCommand({ args, env }: CommandInput): Promise<CommandOutput> {
  if (args.length > 0) throw new UsageError(`takes no arguments (got ${args.join(' ')})`);
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

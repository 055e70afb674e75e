import { databaseUrl, loadConfig, type Env } from '@mailbeacon/contracts';
import { openDatabase, redact, type Database, type Kysely } from '@mailbeacon/db';
import { z } from 'zod';

/*
 * The admin commands (servers, domains, migrate) talk to the same PostgreSQL database as the
 * processes, configured the same way: DATABASE_URL, validated at start (a bad URL is a
 * ConfigError, exit 78).
 */

const databaseConfigSchema = z.object({ DATABASE_URL: databaseUrl() });

export function databaseUrlFromEnv(env: Env): string {
  return loadConfig(databaseConfigSchema, env).DATABASE_URL;
}

/** A CLI run issues a handful of queries, one after the other. */
const CLI_CONNECTIONS = 2;

/**
 * Opens the database (creating and migrating it if needed, as every process does at start),
 * runs `work`, and closes the pool so the command's process can exit.
 */
export async function withDatabase<T>(env: Env, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const url = databaseUrlFromEnv(env);
  let db: Kysely<Database>;
  try {
    db = await openDatabase(url, { maxConnections: CLI_CONNECTIONS });
  } catch (error) {
    // pg's own message ("connect ECONNREFUSED 127.0.0.1:5432") does not say which setting to look at.
    throw new Error(`cannot open the database ${redact(url)} (DATABASE_URL): ${(error as Error).message}`);
  }
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

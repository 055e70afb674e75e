import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database, type Kysely } from '@mailbeacon/db';

/** Where test databases are created (the machine's local Postgres by default). */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TemporaryDatabase {
  url: string;
  db: Kysely<Database>;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, so test files can run in parallel. */
export async function temporaryDatabase(): Promise<TemporaryDatabase> {
  const name = `mailbeacon_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase(url.toString(), { maxConnections: 4 });
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      await dropDatabase(name);
    },
  };
}

/** Drops a test database, whoever is still connected to it. */
export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
  } finally {
    await admin.end();
  }
}

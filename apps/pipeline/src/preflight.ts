import { ensureDatabase, migrateToLatest, createDatabase, databaseName, redact } from '@mailbeacon/db';
import { describeError, probeRedis, redactRedisUrl, RedisUnreachableError } from '@mailbeacon/service';

/** Redis or PostgreSQL is not there: the message says which, where we looked and how to start one. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

const CONNECT_TIMEOUT_MS = 3000;

/** docker-compose.yml refuses every service, the databases too, without MAILBEACON_SECRET. */
const COMPOSE_NEEDS_SECRET =
  '             (docker compose needs MAILBEACON_SECRET, even for this: once, echo "MAILBEACON_SECRET=$(openssl rand -base64 32)" > .env)';

/**
 * Redis and PostgreSQL, checked side by side so that, both missing, both are reported at once
 * (one PreflightError); each one that is fine is printed as such.
 */
export async function checkServices(redisUrl: string, databaseUrl: string, print: (line: string) => void): Promise<void> {
  const [redis, postgres] = await Promise.allSettled([checkRedis(redisUrl), preparePostgres(databaseUrl)]);
  if (redis.status === 'fulfilled') print(`Redis       ${redisUrl}: ok`);
  if (postgres.status === 'fulfilled') {
    const applied = postgres.value;
    print(`PostgreSQL  database ${databaseName(databaseUrl)}: ok${applied.length ? ` (applied ${applied.join(', ')})` : ', up to date'}`);
  }
  const problems = [redis, postgres].flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  const other = problems.find((problem) => !(problem instanceof PreflightError));
  if (other !== undefined) throw other;
  if (problems.length > 0) throw new PreflightError(problems.map((problem) => (problem as PreflightError).message).join('\n'));
}

/**
 * The shared Redis start-up check (one attempt and a PING): one server, or a cluster
 * (REDIS_URL redis-cluster://…), which is then ready when its seeds told its layout and all its
 * slots are served. Its error names the cause (ioredis's own is a bare "Connection is closed.").
 */
export async function checkRedis(url: string): Promise<void> {
  try {
    await probeRedis(url, { timeoutMs: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw new PreflightError(
      [
        `Redis is not reachable at ${redactRedisUrl(url)}: ${error instanceof RedisUnreachableError ? error.reason : describeError(error)}.`,
        '  Start one:  docker compose up -d redis',
        COMPOSE_NEEDS_SECRET,
        '         or:  redis-server --daemonize yes',
        '  or point REDIS_URL at yours.',
      ].join('\n'),
    );
  }
}

const AUTH_FAILURES = new Set(['28P01', '28000']);

/** Creates the database when missing and applies the migrations; returns the names applied now. */
export async function preparePostgres(url: string): Promise<string[]> {
  try {
    await ensureDatabase(url);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code && AUTH_FAILURES.has(code)) {
      throw new PreflightError(`PostgreSQL at ${redact(url)} refused the login: ${describeError(error)}.\n  Fix the user or password in DATABASE_URL.`);
    }
    throw new PreflightError(
      [
        `PostgreSQL is not reachable at ${redact(url)}: ${describeError(error)}.`,
        '  Start one:  docker compose up -d postgres',
        COMPOSE_NEEDS_SECRET,
        '         or:  pg_ctlcluster <version> main start   (Debian/Ubuntu)',
        '  or point DATABASE_URL at yours.',
      ].join('\n'),
    );
  }
  const db = createDatabase(url, { maxConnections: 1 });
  try {
    const result = await migrateToLatest(db);
    return (result.results ?? []).map((migration) => migration.migrationName);
  } finally {
    await db.destroy();
  }
}

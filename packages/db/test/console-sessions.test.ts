import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { ConsoleSessionRepository } from '../src/console-sessions';
import { temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';

const HOUR = 3_600_000;

describe('console sessions', () => {
  let temp: TemporaryDatabase;
  let sessions: ConsoleSessionRepository;
  beforeAll(async () => {
    temp = await temporaryDatabase();
    sessions = new ConsoleSessionRepository(temp.db, { idleMs: HOUR, maxAgeMs: 12 * HOUR });
  });
  afterAll(() => temp.drop());

  /** Moves a session's clocks back, as if time had passed. */
  const age = (id: string, column: 'last_seen_at' | 'created_at', hours: number) =>
    sql`update console_sessions set ${sql.ref(column)} = ${sql.ref(column)} - make_interval(secs => ${hours * 3600}) where id_hash = ${createHash('sha256').update(id).digest()}`.execute(temp.db);

  test('a new session resumes; only the hash of its id is stored', async () => {
    const id = await sessions.start();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessions.resume(id)).toBe(true);
    const rows = await temp.db.selectFrom('console_sessions').select('id_hash').execute();
    expect(rows.map((row) => row.id_hash.toString('base64url'))).not.toContain(id);
    expect(rows.map((row) => row.id_hash.toString('hex'))).toContain(createHash('sha256').update(id).digest('hex'));
    expect(await sessions.resume('not-a-session')).toBe(false);
  });

  test('an ended session no longer resumes', async () => {
    const id = await sessions.start();
    expect(await sessions.end(id)).toBe(true);
    expect(await sessions.resume(id)).toBe(false);
    expect(await sessions.end(id)).toBe(false);
  });

  test('idle too long: expired; each request restarts the idle clock', async () => {
    const idle = await sessions.start();
    await age(idle, 'last_seen_at', 2);
    expect(await sessions.resume(idle)).toBe(false);

    const active = await sessions.start();
    await age(active, 'last_seen_at', 0.9);
    expect(await sessions.resume(active)).toBe(true);
    await age(active, 'last_seen_at', 0.9); // 0.9 h since the last request, 1.8 h in all
    expect(await sessions.resume(active)).toBe(true);
  });

  test('older than the absolute limit: expired however active; sweep deletes expired sessions only', async () => {
    const old = await sessions.start();
    await age(old, 'created_at', 13);
    expect(await sessions.resume(old)).toBe(false);
    const fresh = await sessions.start(); // start sweeps
    const left = await temp.db.selectFrom('console_sessions').select('id_hash').execute();
    expect(left.map((row) => row.id_hash.toString('hex'))).not.toContain(createHash('sha256').update(old).digest('hex'));
    expect(await sessions.resume(fresh)).toBe(true);
    expect(await sessions.sweep()).toBe(0);
  });
});

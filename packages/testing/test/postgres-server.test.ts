import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { OwnPostgres } from '@mailbeacon/testing';

jest.setTimeout(60_000);

/** One query on a connection of its own (so no idle client is left to die with the server). */
async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Whether a process runs (a zombie that nobody reaped yet does not). */
function runs(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

async function connectError(url: string): Promise<unknown> {
  return query(url, 'select 1').then(
    () => {
      throw new Error('connected to a server that should be down');
    },
    (error: unknown) => error,
  );
}

describe('OwnPostgres', () => {
  let server: OwnPostgres | undefined;

  afterAll(async () => {
    await server?.destroy();
  });

  it('starts, stops, restarts, survives a crash and cleans up after itself', async () => {
    server = await OwnPostgres.start();
    const url = server.url();
    expect(url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    expect(server.port).not.toBe(5432);
    expect(server.running).toBe(true);

    expect(await query<{ answer: number }>(url, 'select 41 + 1 as answer')).toEqual([{ answer: 42 }]);
    await query(url, 'create table marks (id int primary key)');
    await query(url, 'insert into marks values (1)');

    await server.stop();
    expect(server.running).toBe(false);
    expect(await connectError(url)).toMatchObject({ code: 'ECONNREFUSED' });

    await server.restart();
    expect(await query(url, 'select id from marks')).toEqual([{ id: 1 }]);
    await query(url, 'insert into marks values (2)');

    const pid = server.pid!;
    await server.kill();
    expect(server.running).toBe(false);
    expect(runs(pid)).toBe(false);
    expect(await connectError(url)).toMatchObject({ code: 'ECONNREFUSED' });

    await server.restart(); // crash recovery
    expect(await query(url, 'select id from marks order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await server.log()).toMatch(/not properly shut down|automatic recovery/);

    const dir = server.dir;
    await server.destroy();
    expect(existsSync(dir)).toBe(false);
    expect(await connectError(url)).toMatchObject({ code: 'ECONNREFUSED' });
    await server.destroy(); // twice is fine
  });

  it('destroy() takes a running server down', async () => {
    const other = await OwnPostgres.start();
    try {
      const pid = other.pid!;
      await query(other.url(), 'select 1');
      await other.destroy();
      expect(existsSync(other.dir)).toBe(false);
      expect(await connectError(other.url())).toMatchObject({ code: 'ECONNREFUSED' });
      expect(runs(pid)).toBe(false);
    } finally {
      await other.destroy();
    }
  });

  it('pause() freezes it; destroy() still takes a paused server down', async () => {
    const other = await OwnPostgres.start();
    try {
      other.pause();
      const client = new pg.Client({ connectionString: other.url(), connectionTimeoutMillis: 500 });
      client.on('error', () => undefined);
      await expect(client.connect()).rejects.toThrow(/timeout/i);
      await client.end().catch(() => undefined);
      other.resume();
      expect(await query(other.url(), 'select 1 as one')).toEqual([{ one: 1 }]);
      other.pause();
      const pid = other.pid!;
      await other.destroy();
      expect(runs(pid)).toBe(false);
      expect(existsSync(other.dir)).toBe(false);
    } finally {
      await other.destroy();
    }
  });
});

import { freePort } from '@mailbeacon/testing';
import { Client } from 'pg';
import { isTransientDatabaseError } from '../src/postgres-errors';

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** An Error carrying a `code`, the way node-postgres and Node's socket layer report them. */
function withCode(code: string, message = 'failed'): Error {
  return Object.assign(new Error(message), { code });
}

describe('isTransientDatabaseError', () => {
  test.each([
    ['08006', 'connection failure'],
    ['57P01', 'admin shutdown'],
    ['57P03', 'cannot connect now'],
    ['53300', 'too many connections'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock detected'],
  ])('SQLSTATE %s (%s) is transient', (code) => {
    expect(isTransientDatabaseError(withCode(code))).toBe(true);
  });

  test.each([
    ['22021', 'character not in repertoire'],
    ['23505', 'unique violation'],
    ['42703', 'undefined column'],
    ['22P02', 'invalid text representation'],
  ])('SQLSTATE %s (%s) is not transient', (code) => {
    expect(isTransientDatabaseError(withCode(code))).toBe(false);
  });

  // The code decides, whatever the message says.
  test('a data error whose message mentions a connection is still not transient', () => {
    expect(isTransientDatabaseError(withCode('22P02', 'invalid input syntax for type uuid: "connection closed"'))).toBe(false);
  });

  test.each(['ECONNREFUSED', 'ECONNRESET'])('a Node error with code %s is transient', (code) => {
    expect(isTransientDatabaseError(withCode(code, `connect ${code} 127.0.0.1:5432`))).toBe(true);
  });

  test.each(['Connection terminated unexpectedly', 'Connection terminated', 'timeout exceeded when trying to connect'])(
    'a node-postgres error without a code, %p, is transient',
    (message) => {
      expect(isTransientDatabaseError(new Error(message))).toBe(true);
    },
  );

  test('a plain Error about the data is not transient', () => {
    expect(isTransientDatabaseError(new Error('invalid input syntax'))).toBe(false);
  });

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'Connection terminated unexpectedly'],
    ['a number', 42],
    ['an error-like object', { code: '08006', message: 'Connection terminated unexpectedly' }],
  ])('%s is not transient', (_label, value) => {
    expect(isTransientDatabaseError(value)).toBe(false);
  });

  describe('real errors', () => {
    test('division by zero from PostgreSQL (22012) is not transient', async () => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        const error = await client.query('select 1/0').then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(Error);
        expect((error as { code?: unknown }).code).toBe('22012');
        expect(isTransientDatabaseError(error)).toBe(false);
      } finally {
        await client.end();
      }
    });

    test('connecting to a port nothing listens on is transient', async () => {
      const port = await freePort();
      const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, connectionTimeoutMillis: 5000 });
      const error = await client.connect().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect((error as { code?: unknown }).code).toBe('ECONNREFUSED');
      expect(isTransientDatabaseError(error)).toBe(true);
      await client.end().catch(() => {});
    });
  });
});

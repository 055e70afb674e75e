import { ConfigError } from '@mailbeacon/contracts';
import { loadAdminConfig } from '../src/config';

describe('loadAdminConfig', () => {
  test('defaults: port 8081 on loopback only, a fresh random token each time', () => {
    const config = loadAdminConfig({});
    expect(config).toEqual({
      port: 8081,
      host: '127.0.0.1',
      adminToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      adminTokenGenerated: true,
      trustProxy: ['loopback'],
      consoleSession: { idleMs: 60 * 60_000, maxAgeMs: 12 * 3_600_000 },
      apiKeyRequestsPerMinute: 120,
      statsStatementTimeoutMs: 10_000,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/mailbeacon',
      logLevel: 'info',
    });
    expect(loadAdminConfig({}).adminToken).not.toBe(config.adminToken);
    // An empty variable counts as unset.
    expect(loadAdminConfig({ ADMIN_TOKEN: '', ADMIN_HOST: '' })).toMatchObject({ host: '127.0.0.1', adminTokenGenerated: true });
  });

  test('explicit settings', () => {
    expect(
      loadAdminConfig({
        ADMIN_PORT: '9000',
        ADMIN_HOST: '0.0.0.0',
        ADMIN_TOKEN: '  a-long-enough-admin-token\n',
        DATABASE_URL: 'postgresql://u:p@db:5432/mb',
        LOG_LEVEL: 'debug',
        ADMIN_TRUST_PROXY: '10.0.0.0/8, loopback',
        CONSOLE_SESSION_IDLE_MINUTES: '15',
        CONSOLE_SESSION_MAX_HOURS: '8',
        API_KEY_REQUESTS_PER_MINUTE: '30',
        STATS_STATEMENT_TIMEOUT_MS: '2500',
      }),
    ).toEqual({
      port: 9000,
      host: '0.0.0.0',
      adminToken: 'a-long-enough-admin-token',
      adminTokenGenerated: false,
      trustProxy: ['10.0.0.0/8', 'loopback'],
      consoleSession: { idleMs: 15 * 60_000, maxAgeMs: 8 * 3_600_000 },
      apiKeyRequestsPerMinute: 30,
      statsStatementTimeoutMs: 2500,
      databaseUrl: 'postgresql://u:p@db:5432/mb',
      logLevel: 'debug',
    });
    expect(loadAdminConfig({ ADMIN_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadAdminConfig({ ADMIN_HOST: '::' }).host).toBe('::');
    expect(loadAdminConfig({ ADMIN_HOST: 'localhost' }).host).toBe('localhost');
  });

  test('every bad variable is reported at once; a short token by its length only', () => {
    let error: unknown;
    try {
      loadAdminConfig({
        ADMIN_PORT: '70000',
        ADMIN_HOST: 'no spaces',
        ADMIN_TOKEN: 'short-secret',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        ADMIN_TRUST_PROXY: 'true',
        CONSOLE_SESSION_IDLE_MINUTES: '0',
        CONSOLE_SESSION_MAX_HOURS: 'a day',
        API_KEY_REQUESTS_PER_MINUTE: '0',
        STATS_STATEMENT_TIMEOUT_MS: '5s',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((problem) => problem.variable).sort()).toEqual([
      'ADMIN_HOST',
      'ADMIN_PORT',
      'ADMIN_TOKEN',
      'ADMIN_TRUST_PROXY',
      'API_KEY_REQUESTS_PER_MINUTE',
      'CONSOLE_SESSION_IDLE_MINUTES',
      'CONSOLE_SESSION_MAX_HOURS',
      'DATABASE_URL',
      'LOG_LEVEL',
      'STATS_STATEMENT_TIMEOUT_MS',
    ]);
    expect(problems.find((problem) => problem.variable === 'ADMIN_TOKEN')?.message).toBe('must be at least 16 characters long (got 12 characters)');
    expect((error as ConfigError).message).not.toContain('short-secret');
  });
});

import { z } from 'zod';
import {
  boolean,
  checkClusterQueuePrefix,
  ConfigError,
  databaseUrl,
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  loadConfig,
  logLevel,
  port,
  positiveInt,
  queuePrefix,
  redisUrl,
} from '@mailbeacon/contracts';
import { configError } from './expect-config-error';

/** Loads a one-variable config, so each builder can be tested on its own. */
function load<T>(field: z.ZodType<T>, value: string | undefined): T {
  return (loadConfig(z.object({ VALUE: field }), { VALUE: value }) as { VALUE: T }).VALUE;
}


describe('field builders', () => {
  it('redisUrl', () => {
    expect(load(redisUrl(), undefined)).toBe(DEFAULT_REDIS_URL);
    expect(DEFAULT_REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(load(redisUrl(), 'rediss://:pw@cache.internal:6380/2')).toBe('rediss://:pw@cache.internal:6380/2');
    expect(load(redisUrl('redis://redis:6379'), undefined)).toBe('redis://redis:6379');
    expect(configError(() => load(redisUrl(), 'http://cache:6379')).message).toBe(
      'VALUE: must be a redis://, rediss://, redis-cluster:// or rediss-cluster:// URL (got "http://cache:6379")',
    );
    expect(() => load(redisUrl(), 'cache:6379')).toThrow(ConfigError);
  });

  it('redisUrl: a Redis Cluster by its seed nodes', () => {
    expect(load(redisUrl(), 'redis-cluster://10.0.0.1:6379,10.0.0.2:6379,redis-c.internal')).toBe('redis-cluster://10.0.0.1:6379,10.0.0.2:6379,redis-c.internal');
    expect(load(redisUrl(), ' rediss-cluster://mb:pw@[2001:db8::1]:7000,h2:7001/ ')).toBe('rediss-cluster://mb:pw@[2001:db8::1]:7000,h2:7001/');
    // Each seed is checked, and said which is wrong; the password is not echoed.
    expect(configError(() => load(redisUrl(), 'redis-cluster://mb:s3cret@h1:6379,h2:63x9')).message).toBe(
      'VALUE: must be a redis://, rediss://, redis-cluster:// or rediss-cluster:// URL: seed "h2:63x9": the port must be 1 to 65535 (got "redis-cluster://mb:***@h1:6379,h2:63x9")',
    );
    expect(configError(() => load(redisUrl(), 'redis-cluster://')).message).toMatch(/: no seed node \(host:port\) given/);
    expect(configError(() => load(redisUrl(), 'redis-cluster://h1:6379,,h2:6379')).message).toMatch(/seed "": expected host:port/);
    expect(configError(() => load(redisUrl(), 'redis-cluster://h1:6379/1')).message).toMatch(/only database 0/);
  });

  it('databaseUrl', () => {
    expect(load(databaseUrl(), undefined)).toBe(DEFAULT_DATABASE_URL);
    expect(DEFAULT_DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/mailbeacon');
    expect(load(databaseUrl(), 'postgresql://u@db/x')).toBe('postgresql://u@db/x');
    expect(load(databaseUrl(), 'postgres:///x?host=/var/run/postgresql')).toBe('postgres:///x?host=/var/run/postgresql');
    expect(configError(() => load(databaseUrl(), 'mysql://db/x')).message).toBe(
      'VALUE: must be a postgres:// or postgresql:// URL (got "mysql://db/x")',
    );
  });

  it('never echoes a password from a URL', () => {
    const error = configError(() => load(databaseUrl(), 'mysql://admin:s3cret@db/x'));
    expect(error.message).not.toContain('s3cret');
    expect(error.message).toContain('"mysql://admin:***@db/x"');
  });

  it('port', () => {
    expect(load(port(3000), undefined)).toBe(3000);
    expect(load(port(3000), '8080')).toBe(8080);
    expect(load(port(3000), ' 1 ')).toBe(1);
    expect(load(port(3000), '65535')).toBe(65535);
    for (const bad of ['0', '65536', '80.5', '-1', 'http', '8080abc', '1e3']) {
      expect(configError(() => load(port(3000), bad)).message).toBe(
        `VALUE: must be an integer from 1 to 65535 (got ${JSON.stringify(bad)})`,
      );
    }
    expect(() => port(0)).toThrow(RangeError);
  });

  it('positiveInt', () => {
    expect(load(positiveInt(5), undefined)).toBe(5);
    expect(load(positiveInt(5), '200')).toBe(200);
    for (const bad of ['0', '-3', '2.5', 'ten', '99999999999999999999']) {
      expect(() => load(positiveInt(5), bad)).toThrow('VALUE: must be a positive integer');
    }
    expect(() => positiveInt(0)).toThrow(RangeError);
  });

  it('boolean', () => {
    expect(load(boolean(true), undefined)).toBe(true);
    expect(load(boolean(false), undefined)).toBe(false);
    for (const yes of ['true', 'TRUE', 'True', '1', 'yes', 'YES']) expect(load(boolean(false), yes)).toBe(true);
    for (const no of ['false', 'False', '0', 'no', 'No']) expect(load(boolean(true), no)).toBe(false);
    for (const bad of ['y', 'on', '2', 'constructor', '__proto__']) {
      expect(configError(() => load(boolean(true), bad)).message).toBe(
        `VALUE: must be one of true, false, 1, 0, yes, no (got ${JSON.stringify(bad)})`,
      );
    }
  });

  it('queuePrefix', () => {
    expect(load(queuePrefix(), undefined)).toBe('mailbeacon');
    expect(load(queuePrefix(), '{mb}')).toBe('{mb}');
    expect(configError(() => load(queuePrefix(), 'mail:beacon')).message).toMatch(/^VALUE: must be a key prefix without ':'.*\(got "mail:beacon"\)$/);
  });

  it('logLevel', () => {
    expect(load(logLevel(), undefined)).toBe('info');
    expect(load(logLevel('warn'), undefined)).toBe('warn');
    expect(load(logLevel(), 'DEBUG')).toBe('debug');
    expect(load(logLevel(), 'silent')).toBe('silent');
    expect(configError(() => load(logLevel(), 'verbose')).message).toBe(
      'VALUE: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    );
  });
});

describe('loadConfig', () => {
  const schema = z.object({
    REDIS_URL: redisUrl(),
    DATABASE_URL: databaseUrl(),
    PORT: port(3000),
    CONCURRENCY: positiveInt(8),
    TRUST_PROXY: boolean(false),
    QUEUE_PREFIX: queuePrefix(),
    LOG_LEVEL: logLevel(),
    TRACKING_DOMAIN: z.string().min(3),
  });

  it('returns typed values, with defaults for unset and empty variables', () => {
    const config = loadConfig(schema, { TRACKING_DOMAIN: 'click.example.com', PORT: '', TRUST_PROXY: 'yes', UNRELATED: 'x' });
    expect(config).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/mailbeacon',
      PORT: 3000,
      CONCURRENCY: 8,
      TRUST_PROXY: true,
      QUEUE_PREFIX: 'mailbeacon',
      LOG_LEVEL: 'info',
      TRACKING_DOMAIN: 'click.example.com',
    });
    // Compile-time check of the inferred types.
    const port: number = config.PORT;
    const trustProxy: boolean = config.TRUST_PROXY;
    expect([port, trustProxy]).toEqual([3000, true]);
  });

  it('lists every bad variable, one per line', () => {
    const error = configError(() =>
      loadConfig(schema, {
        REDIS_URL: 'localhost',
        PORT: '99999',
        CONCURRENCY: '8',
        TRUST_PROXY: 'maybe',
        QUEUE_PREFIX: 'a:b',
        LOG_LEVEL: 'loud',
      }),
    );
    expect(error.message.split('\n')).toEqual([
      'REDIS_URL: must be a redis://, rediss://, redis-cluster:// or rediss-cluster:// URL (got "localhost")',
      'PORT: must be an integer from 1 to 65535 (got "99999")',
      'TRUST_PROXY: must be one of true, false, 1, 0, yes, no (got "maybe")',
      "QUEUE_PREFIX: must be a key prefix without ':' (e.g. mailbeacon, or {mb} for Redis Cluster) (got \"a:b\")",
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'TRACKING_DOMAIN: required (not set)',
    ]);
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'REDIS_URL',
      'PORT',
      'TRUST_PROXY',
      'QUEUE_PREFIX',
      'LOG_LEVEL',
      'TRACKING_DOMAIN',
    ]);
  });

  it("reports a plain zod field's own message with the value", () => {
    expect(configError(() => loadConfig(schema, { TRACKING_DOMAIN: 'x' })).message).toMatch(/^TRACKING_DOMAIN: .+ \(got "x"\)$/);
  });

  it('reads process.env by default', () => {
    process.env.MAILBEACON_TEST_PORT = '4321';
    try {
      expect(loadConfig(z.object({ MAILBEACON_TEST_PORT: port(1) }))).toEqual({ MAILBEACON_TEST_PORT: 4321 });
    } finally {
      delete process.env.MAILBEACON_TEST_PORT;
    }
  });
});

describe('checkClusterQueuePrefix', () => {
  const CLUSTER_URL = 'redis-cluster://h1:6379,h2:6379';

  it('on Redis Cluster the queue prefix must hold a hash tag', () => {
    for (const QUEUE_PREFIX of ['{mb}', 'mail{beacon}', '{mbtest-1a2b}']) {
      const config = { REDIS_URL: CLUSTER_URL, QUEUE_PREFIX, OTHER: 1 };
      expect(checkClusterQueuePrefix(config)).toBe(config);
    }
    for (const QUEUE_PREFIX of ['mailbeacon', '{}', '{}mb{x}', 'mb{', 'mb}x{']) {
      const error = configError(() => checkClusterQueuePrefix({ REDIS_URL: CLUSTER_URL, QUEUE_PREFIX }));
      expect(error.problems).toEqual([
        {
          variable: 'QUEUE_PREFIX',
          message: `must contain a hash tag such as {mb} on Redis Cluster, so that each queue's keys share a slot (REDIS_URL is a Redis Cluster; got ${JSON.stringify(QUEUE_PREFIX)})`,
        },
      ]);
    }
  });

  it('a single server takes any prefix', () => {
    expect(checkClusterQueuePrefix({ REDIS_URL: 'rediss://h1:6380', QUEUE_PREFIX: 'mailbeacon' })).toEqual({ REDIS_URL: 'rediss://h1:6380', QUEUE_PREFIX: 'mailbeacon' });
  });
});

describe('loadConfigs', () => {
  it('returns every loader’s result, or one ConfigError with all their problems', () => {
    const { loadConfigs } = jest.requireActual('../src/config') as typeof import('../src/config');
    expect(loadConfigs(() => 1, () => 'two')).toEqual([1, 'two']);
    const error = configError(() =>
      loadConfigs(
        () => load(port(80), 'x'),
        () => 'fine',
        () => load(redisUrl(), 'http://nope'),
      ),
    );
    expect(error.problems.map((p) => p.variable)).toEqual(['VALUE', 'VALUE']);
    expect(() => loadConfigs(() => { throw new TypeError('not a config problem'); })).toThrow(TypeError);
  });
});

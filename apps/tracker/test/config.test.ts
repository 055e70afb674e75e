import { resolve } from 'node:path';
import { ConfigError, signingKeysFromEnv } from '@mailbeacon/contracts';
import { keyRing } from '@mailbeacon/links';
import { loadTrackerConfig } from '../src/config';

function problemsOf(env: Record<string, string>): Map<string, string> {
  try {
    loadTrackerConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return new Map((error as ConfigError).problems.map((problem) => [problem.variable, problem.message]));
  }
  throw new Error('expected a ConfigError');
}

describe('loadTrackerConfig', () => {
  test('defaults: port 8080 on loopback, the Postal header, loopback proxies trusted, truncated addresses', () => {
    const config = loadTrackerConfig({});
    expect(config).toEqual({
      port: 8080,
      host: '127.0.0.1',
      trackHostHeader: 'X-Postal-Track-Host',
      trustProxy: ['loopback'],
      ipStorage: 'truncated',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'mailbeacon',
      trackingEventsQueue: 'tracking-events',
      spoolDir: resolve('var/spool'),
      logLevel: 'info',
      signing: expect.anything(),
    });
    // Without MAILBEACON_SECRET: the checkout's key file if there is one, else the development key, as everywhere.
    expect(config.signing.source).toEqual(signingKeysFromEnv({}).source);
    expect(config.signing.keys.current.id).toBe(signingKeysFromEnv({}).keys.current.id);
    // An empty variable counts as unset.
    expect(loadTrackerConfig({ TRUST_PROXY: '', IP_STORAGE: '', TRACKER_HOST: '' })).toMatchObject({ trustProxy: ['loopback'], ipStorage: 'truncated', host: '127.0.0.1' });
  });

  test('explicit settings', () => {
    const config = loadTrackerConfig({
      TRACKER_PORT: '9090',
      TRACKER_HOST: '0.0.0.0',
      TRACK_HOST_HEADER: ' X-Track-Host ',
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.10 ,fd00::/8,loopback',
      IP_STORAGE: 'FULL',
      REDIS_URL: 'rediss://:pw@redis.internal:6380',
      QUEUE_PREFIX: '{mb}',
      QUEUE_TRACKING_EVENTS: 'events.v2',
      SPOOL_DIR: '/var/spool/mailbeacon',
      LOG_LEVEL: 'debug',
      MAILBEACON_SECRET: 'current-secret-0123456789',
      MAILBEACON_PREVIOUS_SECRETS: 'previous-secret-0123456789',
    });
    expect(config).toEqual({
      port: 9090,
      host: '0.0.0.0',
      trackHostHeader: 'X-Track-Host',
      trustProxy: ['10.0.0.0/8', '192.168.1.10', 'fd00::/8', 'loopback'],
      ipStorage: 'full',
      redisUrl: 'rediss://:pw@redis.internal:6380',
      queuePrefix: '{mb}',
      trackingEventsQueue: 'events.v2',
      spoolDir: '/var/spool/mailbeacon',
      logLevel: 'debug',
      signing: expect.objectContaining({ source: { kind: 'environment' } }),
    });
    // The current secret signs, the previous one still verifies.
    expect(config.signing.keys.current.id).toBe(keyRing('current-secret-0123456789').current.id);
    expect(config.signing.keys.find(keyRing('previous-secret-0123456789').current.id)).toBeDefined();
  });

  test('TRUST_PROXY: false turns X-Forwarded-For off; names, addresses and ranges are accepted', () => {
    expect(loadTrackerConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadTrackerConfig({ TRUST_PROXY: 'FALSE' }).trustProxy).toBe(false);
    expect(loadTrackerConfig({ TRUST_PROXY: 'linklocal,uniquelocal' }).trustProxy).toEqual(['linklocal', 'uniquelocal']);
    expect(loadTrackerConfig({ TRUST_PROXY: '::1' }).trustProxy).toEqual(['::1']);
    expect(loadTrackerConfig({ TRUST_PROXY: '0.0.0.0/0' }).trustProxy).toEqual(['0.0.0.0/0']);
  });

  test.each([
    ['true', 'must not be true'],
    ['1', 'not understood: "1"'],
    ['10.0.0.0/33', 'not understood: "10.0.0.0/33"'],
    ['fd00::/129', 'not understood: "fd00::/129"'],
    ['10.0.0.0/08', 'not understood: "10.0.0.0/08"'],
    ['loopback,,10.0.0.1', 'not understood: ""'],
    ['proxy.internal', 'not understood: "proxy.internal"'],
    ['fe80::1%eth0', 'not understood: "fe80::1%eth0"'],
  ])('TRUST_PROXY=%j is refused', (value, message) => {
    expect(problemsOf({ TRUST_PROXY: value }).get('TRUST_PROXY')).toContain(message);
  });

  test('every bad variable is reported at once, the signing secrets too (by length only)', () => {
    const problems = problemsOf({
      TRACKER_PORT: '0',
      TRACKER_HOST: 'no spaces',
      TRACK_HOST_HEADER: 'X Track',
      TRUST_PROXY: 'everyone',
      IP_STORAGE: 'partial',
      REDIS_URL: 'http://redis',
      QUEUE_PREFIX: 'a:b',
      QUEUE_TRACKING_EVENTS: 'bad name',
      SPOOL_DIR: '   ',
      LOG_LEVEL: 'loud',
      MAILBEACON_SECRET: 'short-secret',
    });
    expect([...problems.keys()].sort()).toEqual([
      'IP_STORAGE',
      'LOG_LEVEL',
      'MAILBEACON_SECRET',
      'QUEUE_PREFIX',
      'QUEUE_TRACKING_EVENTS',
      'REDIS_URL',
      'SPOOL_DIR',
      'TRACKER_HOST',
      'TRACKER_PORT',
      'TRACK_HOST_HEADER',
      'TRUST_PROXY',
    ]);
    expect(problems.get('IP_STORAGE')).toBe('must be one of full, truncated, none (got "partial")');
    expect(problems.get('MAILBEACON_SECRET')).toBe('must be at least 16 characters long (got 12 characters)');
  });

  test('signing problems alone are reported as a ConfigError', () => {
    expect(problemsOf({ MAILBEACON_PREVIOUS_SECRETS: 'previous-secret-0123456789' }).get('MAILBEACON_SECRET')).toContain('required');
  });
});

import { keyRing, MIN_SECRET_LENGTH, signLink, verifyLink } from '@mailbeacon/links';
import { ConfigError, DEVELOPMENT_KEY_WARNING, DEVELOPMENT_SECRET, signingKeysFromEnv } from '@mailbeacon/contracts';
import { configError } from './expect-config-error';

const OLD = 'old-secret-0123456789';
const OLDER = 'older-secret-0123456789';
const NEW = 'new-secret-0123456789';


describe('signingKeysFromEnv', () => {
  it('falls back to the documented development key, flagged as such', () => {
    for (const env of [{}, { MAILBEACON_SECRET: '' }, { MAILBEACON_SECRET: '  ' }]) {
      const { keys, development } = signingKeysFromEnv(env);
      expect(development).toBe(true);
      expect(keys.current.id).toBe(keyRing(DEVELOPMENT_SECRET).current.id);
    }
    expect(DEVELOPMENT_SECRET.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
    expect(DEVELOPMENT_KEY_WARNING).toContain('MAILBEACON_SECRET');
  });

  it('signs with MAILBEACON_SECRET', () => {
    const { keys, development } = signingKeysFromEnv({ MAILBEACON_SECRET: NEW });
    expect(development).toBe(false);
    expect(keys.current.id).toBe(keyRing(NEW).current.id);
    expect(keys.current.id).not.toBe(keyRing(DEVELOPMENT_SECRET).current.id);
  });

  it('still verifies with previous secrets after rotation', () => {
    const before = signingKeysFromEnv({ MAILBEACON_SECRET: OLD }).keys;
    const after = signingKeysFromEnv({ MAILBEACON_SECRET: NEW, MAILBEACON_PREVIOUS_SECRETS: ` ${OLD} ,, ${OLDER},` }).keys;

    expect(after.current.id).toBe(keyRing(NEW).current.id);
    expect(after.find(before.current.id)?.secret.toString()).toBe(OLD);
    expect(after.find(keyRing(OLDER).current.id)?.secret.toString()).toBe(OLDER);
    expect(after.find(keyRing('never-configured-secret').current.id)).toBeUndefined();

    // A link delivered before the rotation still verifies after it.
    const url = signLink(before, { host: 'click.example.com' }, { server: 's', messageToken: 'AbCdEfGhIjKlMnOp', linkIndex: 0, url: 'https://example.com/' });
    expect(verifyLink(after, url)).toMatchObject({ ok: true, value: { keyId: before.current.id } });
    expect(verifyLink(signingKeysFromEnv({ MAILBEACON_SECRET: NEW }).keys, url)).toEqual({ ok: false, reason: 'unknown signing key' });
  });

  it('trims the current secret, so its key id survives the move to previous', () => {
    const current = signingKeysFromEnv({ MAILBEACON_SECRET: ` ${OLD}\n` }).keys.current.id;
    const later = signingKeysFromEnv({ MAILBEACON_SECRET: NEW, MAILBEACON_PREVIOUS_SECRETS: OLD }).keys;
    expect(later.find(current)).toBeDefined();
  });

  it('rejects a short current secret, naming the variable but not echoing the secret', () => {
    const error = configError(() => signingKeysFromEnv({ MAILBEACON_SECRET: 'tooshort' }));
    expect(error.message).toBe(`MAILBEACON_SECRET: must be at least ${MIN_SECRET_LENGTH} characters long (got 8 characters)`);
    expect(error.message).not.toContain('tooshort');
  });

  it('rejects short previous secrets, together with a short current one', () => {
    const error = configError(() => signingKeysFromEnv({ MAILBEACON_SECRET: 'short', MAILBEACON_PREVIOUS_SECRETS: `${OLD},tiny,abc` }));
    expect(error.problems.map((problem) => problem.variable)).toEqual(['MAILBEACON_SECRET', 'MAILBEACON_PREVIOUS_SECRETS']);
    const lines = error.message.split('\n');
    expect(lines[1]).toBe(`MAILBEACON_PREVIOUS_SECRETS: every secret must be at least ${MIN_SECRET_LENGTH} characters long (got #2 has 4, #3 has 3 characters)`);
    expect(error.message).not.toMatch(/tiny|abc/);
  });

  it('refuses previous secrets without a current one instead of silently using the development key', () => {
    const error = configError(() => signingKeysFromEnv({ MAILBEACON_PREVIOUS_SECRETS: OLD }));
    expect(error.message).toBe('MAILBEACON_SECRET: required when MAILBEACON_PREVIOUS_SECRETS is set (not set)');
  });
});

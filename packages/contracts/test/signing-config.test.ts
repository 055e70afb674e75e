import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keyRing, MIN_SECRET_LENGTH, signLink, verifyLink } from '@mailbeacon/links';
import { describeSigningKeys, DEVELOPMENT_KEY_WARNING, DEVELOPMENT_SECRET, findCheckoutRoot, signingKeysFromEnv, signingSecretFile } from '@mailbeacon/contracts';
import { configError } from './expect-config-error';

const OLD = 'old-secret-0123456789';
const OLDER = 'older-secret-0123456789';
const NEW = 'new-secret-0123456789';


describe('signingKeysFromEnv', () => {
  it('falls back to the documented development key, flagged as such', () => {
    // Outside a checkout (null), so the key file of the checkout running this test plays no part.
    for (const env of [{}, { MAILBEACON_SECRET: '' }, { MAILBEACON_SECRET: '  ' }]) {
      const signing = signingKeysFromEnv(env, null);
      expect(signing.source).toEqual({ kind: 'development' });
      expect(signing.keys.current.id).toBe(keyRing(DEVELOPMENT_SECRET).current.id);
      expect(describeSigningKeys(signing)).toMatchObject({ level: 'warn', message: DEVELOPMENT_KEY_WARNING });
    }
    expect(DEVELOPMENT_SECRET.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
    expect(DEVELOPMENT_KEY_WARNING).toContain('MAILBEACON_SECRET');
  });

  it('signs with MAILBEACON_SECRET', () => {
    const { keys, source } = signingKeysFromEnv({ MAILBEACON_SECRET: NEW });
    expect(source).toEqual({ kind: 'environment' });
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
    const error = configError(() => signingKeysFromEnv({ MAILBEACON_PREVIOUS_SECRETS: OLD }, null));
    expect(error.message).toBe('MAILBEACON_SECRET: required when MAILBEACON_PREVIOUS_SECRETS is set (not set)');
  });
});

describe('the key file: one key for every process and command run from the checkout', () => {
  let checkout: string;
  const keyFile = () => path.join(checkout, 'var', 'mailbeacon.secret');
  const writeKey = (file: string, text: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  beforeEach(() => {
    checkout = mkdtempSync(path.join(tmpdir(), 'mailbeacon-checkout-'));
  });
  afterEach(() => rmSync(checkout, { recursive: true, force: true }));

  it('the checkout is found from the code itself, whatever the working directory', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const cwd = process.cwd();
    try {
      process.chdir(path.join(root, 'packages', 'contracts'));
      expect(findCheckoutRoot()).toBe(root);
      expect(signingSecretFile({})).toBe(path.join(root, 'var', 'mailbeacon.secret'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('without MAILBEACON_SECRET, the checkout\'s var/mailbeacon.secret signs, and says so', () => {
    writeKey(keyFile(), `${NEW}\n`);
    const signing = signingKeysFromEnv({}, checkout);
    expect(signing.source).toEqual({ kind: 'file', file: keyFile(), configured: false });
    expect(signing.keys.current.id).toBe(keyRing(NEW).current.id);
    expect(signing.secrets).toEqual({ current: NEW, previous: [] });
    const described = describeSigningKeys(signing);
    expect(described.level).toBe('info');
    expect(described.message).toBe(`signing key ${keyRing(NEW).current.id} from ${keyFile()} (the checkout's key, made by npm start; set MAILBEACON_SECRET in production)`);
    expect(described.fields).toEqual({ keyId: keyRing(NEW).current.id, keySource: 'file', keyFile: keyFile() });
    // Previous secrets rotate with a file key too.
    expect(signingKeysFromEnv({ MAILBEACON_PREVIOUS_SECRETS: OLD }, checkout).keys.find(keyRing(OLD).current.id)).toBeDefined();
  });

  it('MAILBEACON_SECRET wins over the file (production: the variable, no file)', () => {
    writeKey(keyFile(), NEW);
    const signing = signingKeysFromEnv({ MAILBEACON_SECRET: OLD }, checkout);
    expect(signing.source).toEqual({ kind: 'environment' });
    expect(signing.keys.current.id).toBe(keyRing(OLD).current.id);
    expect(describeSigningKeys(signing).message).toBe(`signing key ${keyRing(OLD).current.id} from MAILBEACON_SECRET`);
  });

  it('MAILBEACON_SECRET_FILE names another file, relative to the checkout', () => {
    writeKey(path.join(checkout, 'keys', 'mine'), OLDER);
    const signing = signingKeysFromEnv({ MAILBEACON_SECRET_FILE: 'keys/mine' }, checkout);
    expect(signing.source).toEqual({ kind: 'file', file: path.join(checkout, 'keys', 'mine'), configured: true });
    expect(signing.keys.current.id).toBe(keyRing(OLDER).current.id);
    expect(describeSigningKeys(signing).message).toContain('(MAILBEACON_SECRET_FILE)');
  });

  it('a configured file that is missing is an error, not the development key', () => {
    const error = configError(() => signingKeysFromEnv({ MAILBEACON_SECRET_FILE: 'keys/none' }, checkout));
    expect(error.message).toBe(`MAILBEACON_SECRET_FILE: ${path.join(checkout, 'keys', 'none')} does not exist`);
  });

  it('a key file that is too short or unreadable is an error naming it, with the other problems', () => {
    writeKey(keyFile(), 'tiny\n');
    const error = configError(() => signingKeysFromEnv({ MAILBEACON_PREVIOUS_SECRETS: 'abc' }, checkout));
    expect(error.message).toBe(
      `MAILBEACON_SECRET_FILE: ${keyFile()} must hold a secret of at least ${MIN_SECRET_LENGTH} characters (got 4 characters)\n` +
        `MAILBEACON_PREVIOUS_SECRETS: every secret must be at least ${MIN_SECRET_LENGTH} characters long (got #1 has 3 characters)`,
    );
    expect(error.message).not.toContain('tiny');
    if (process.getuid?.() !== 0) {
      writeKey(keyFile(), NEW);
      chmodSync(keyFile(), 0o000);
      expect(configError(() => signingKeysFromEnv({}, checkout)).message).toMatch(/^MAILBEACON_SECRET_FILE: cannot read .*EACCES/);
    }
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { keyRing, MIN_SECRET_LENGTH, type KeyRing } from '@mailbeacon/links';
import { ConfigError, type ConfigProblem, type Env } from './config';

/*
 * The rewriter signs tracking URLs, the tracker and `mailbeacon resolve` verify them, so all
 * of them must find the same signing secrets the same way; this is that one way:
 *   1. MAILBEACON_SECRET (production);
 *   2. else the file MAILBEACON_SECRET_FILE, or the checkout's var/mailbeacon.secret that
 *      `npm start` generates, so every process and command run from the checkout agrees;
 *   3. else the public development key, with a loud warning.
 * Every user reports which one it got (describeSigningKeys), so a key is never a surprise.
 */

export const SECRET_VARIABLE = 'MAILBEACON_SECRET';
export const PREVIOUS_SECRETS_VARIABLE = 'MAILBEACON_PREVIOUS_SECRETS';
export const SECRET_FILE_VARIABLE = 'MAILBEACON_SECRET_FILE';
/** Where `npm start` keeps the key it generates, relative to the checkout. */
export const DEFAULT_SECRET_FILE = 'var/mailbeacon.secret';

/**
 * Used when no secret is configured, so a first run works on a laptop. It is public
 * (it is right here), so anyone can forge clicks and opens signed with it: never in production.
 */
export const DEVELOPMENT_SECRET = 'mailbeacon-development-secret-not-for-production';

export const DEVELOPMENT_KEY_WARNING =
  `${SECRET_VARIABLE} is not set (nor a key file): tracking links are signed with the PUBLIC development key, ` +
  `so anyone can forge clicks and opens. Set ${SECRET_VARIABLE} to a random secret of at least ` +
  `${MIN_SECRET_LENGTH} characters before tracking real mail.`;

export type SigningKeySource =
  | { readonly kind: 'environment' }
  | { readonly kind: 'file'; readonly file: string; readonly configured: boolean }
  | { readonly kind: 'development' };

export interface SigningKeys {
  keys: KeyRing;
  /** Where the current secret came from: log it with describeSigningKeys. */
  source: SigningKeySource;
  /** The secrets themselves, for a worker thread that builds its own key ring. */
  secrets: { readonly current: string; readonly previous: readonly string[] };
}

const WORKSPACE_ROOT_NAME = 'mailbeacon';
let checkoutRootFound: string | null | undefined;

/**
 * The mailbeacon checkout this code runs from (where `npm start` keeps var/), found from this
 * module's own location — so from any working directory — and only when that directory really
 * is the workspace root: installed under another project's node_modules, there is none.
 */
export function findCheckoutRoot(): string | null {
  if (checkoutRootFound === undefined) {
    // This file is packages/contracts/src/signing-config.ts or its build in dist/.
    const candidate = path.resolve(__dirname, '..', '..', '..');
    try {
      const manifest = JSON.parse(readFileSync(path.join(candidate, 'package.json'), 'utf8')) as { name?: unknown; workspaces?: unknown };
      checkoutRootFound = manifest.name === WORKSPACE_ROOT_NAME && Array.isArray(manifest.workspaces) ? candidate : null;
    } catch {
      checkoutRootFound = null;
    }
  }
  return checkoutRootFound;
}

/**
 * The key file to use: MAILBEACON_SECRET_FILE (relative to the checkout, else to the working
 * directory), else the checkout's var/mailbeacon.secret; undefined outside a checkout.
 */
export function signingSecretFile(env: Env = process.env, checkoutRoot: string | null = findCheckoutRoot()): string | undefined {
  const configured = env[SECRET_FILE_VARIABLE]?.trim();
  if (configured) return path.resolve(checkoutRoot ?? process.cwd(), configured);
  return checkoutRoot === null ? undefined : path.join(checkoutRoot, DEFAULT_SECRET_FILE);
}

/**
 * The secret in a key file (trimmed), or undefined when there is no such file. A file that
 * exists but cannot be read or holds too short a secret is a ConfigError naming it: it is
 * never replaced nor silently skipped.
 */
export function readSigningSecretFile(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new ConfigError([{ variable: SECRET_FILE_VARIABLE, message: `cannot read ${file}: ${(error as Error).message}` }]);
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError([
      { variable: SECRET_FILE_VARIABLE, message: `${file} must hold a secret of at least ${MIN_SECRET_LENGTH} characters (got ${secret.length} characters)` },
    ]);
  }
  return secret;
}

/**
 * The signing keys: the current secret from MAILBEACON_SECRET, else from the key file (see
 * above), else the development key; MAILBEACON_PREVIOUS_SECRETS (comma-separated) still
 * verify, so a secret can rotate without breaking links already delivered. Every secret is
 * trimmed, the current one too: a secret must keep its key id when it moves from current to
 * previous. Error messages give lengths, never the secrets themselves. `checkoutRoot` is
 * where var/mailbeacon.secret is looked for (null: nowhere).
 */
export function signingKeysFromEnv(env: Env = process.env, checkoutRoot: string | null = findCheckoutRoot()): SigningKeys {
  const fromEnv = (env[SECRET_VARIABLE] ?? '').trim();
  const previous = (env[PREVIOUS_SECRETS_VARIABLE] ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');

  const problems: ConfigProblem[] = [];
  let current = fromEnv;
  let source: SigningKeySource = { kind: 'environment' };
  if (fromEnv === '') {
    const file = signingSecretFile(env, checkoutRoot);
    const configured = Boolean(env[SECRET_FILE_VARIABLE]?.trim());
    try {
      const fromFile = file === undefined ? undefined : readSigningSecretFile(file);
      if (fromFile !== undefined) {
        current = fromFile;
        source = { kind: 'file', file: file!, configured };
      } else if (configured) {
        problems.push({ variable: SECRET_FILE_VARIABLE, message: `${file} does not exist` });
      }
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (current === '' && problems.length === 0 && previous.length > 0) {
    // Most likely the current secret was lost in a deploy: signing with the development key
    // would silently make every new link forgeable.
    problems.push({ variable: SECRET_VARIABLE, message: `required when ${PREVIOUS_SECRETS_VARIABLE} is set (not set)` });
  }
  if (fromEnv !== '' && fromEnv.length < MIN_SECRET_LENGTH) {
    problems.push({
      variable: SECRET_VARIABLE,
      message: `must be at least ${MIN_SECRET_LENGTH} characters long (got ${fromEnv.length} characters)`,
    });
  }
  const short = previous.flatMap((secret, i) => (secret.length < MIN_SECRET_LENGTH ? [`#${i + 1} has ${secret.length}`] : []));
  if (short.length > 0) {
    problems.push({
      variable: PREVIOUS_SECRETS_VARIABLE,
      message: `every secret must be at least ${MIN_SECRET_LENGTH} characters long (got ${short.join(', ')} characters)`,
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  if (current === '') {
    return { keys: keyRing(DEVELOPMENT_SECRET), source: { kind: 'development' }, secrets: { current: DEVELOPMENT_SECRET, previous: [] } };
  }
  return { keys: keyRing(current, previous), source, secrets: { current, previous } };
}

/**
 * The start-up line that says which key signs and where it came from (the key id is the one
 * tracking URLs carry, so two processes' lines show at once whether they agree); a warning
 * for the development key. Log it as `logger[level](fields, message)`.
 */
export function describeSigningKeys({ keys, source }: SigningKeys): {
  level: 'info' | 'warn';
  message: string;
  fields: { keyId: string; keySource: SigningKeySource['kind']; keyFile?: string };
} {
  const keyId = keys.current.id;
  switch (source.kind) {
    case 'environment':
      return { level: 'info', fields: { keyId, keySource: source.kind }, message: `signing key ${keyId} from ${SECRET_VARIABLE}` };
    case 'file':
      return {
        level: 'info',
        fields: { keyId, keySource: source.kind, keyFile: source.file },
        message: source.configured
          ? `signing key ${keyId} from ${source.file} (${SECRET_FILE_VARIABLE})`
          : `signing key ${keyId} from ${source.file} (the checkout's key, made by npm start; set ${SECRET_VARIABLE} in production)`,
      };
    case 'development':
      return { level: 'warn', fields: { keyId, keySource: source.kind }, message: DEVELOPMENT_KEY_WARNING };
  }
}

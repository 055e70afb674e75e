import { keyRing, MIN_SECRET_LENGTH, type KeyRing } from '@mailbeacon/links';
import { ConfigError, type ConfigProblem, type Env } from './config';

/*
 * The rewriter signs tracking URLs and the tracker verifies them, so both must read the
 * signing secrets the same way; this is that one way.
 */

export const SECRET_VARIABLE = 'MAILBEACON_SECRET';
export const PREVIOUS_SECRETS_VARIABLE = 'MAILBEACON_PREVIOUS_SECRETS';

/**
 * Used when MAILBEACON_SECRET is not set, so `npm start` works on a laptop. It is public
 * (it is right here), so anyone can forge clicks and opens signed with it: never in production.
 */
export const DEVELOPMENT_SECRET = 'mailbeacon-development-secret-not-for-production';

export const DEVELOPMENT_KEY_WARNING =
  `${SECRET_VARIABLE} is not set: tracking links are signed with the PUBLIC development key, ` +
  `so anyone can forge clicks and opens. Set ${SECRET_VARIABLE} to a random secret of at least ` +
  `${MIN_SECRET_LENGTH} characters before tracking real mail.`;

export interface SigningKeys {
  keys: KeyRing;
  /** True when the development key is in use; the caller should log DEVELOPMENT_KEY_WARNING. */
  development: boolean;
}

/**
 * MAILBEACON_SECRET signs; MAILBEACON_PREVIOUS_SECRETS (comma-separated) still verify, so a
 * secret can rotate without breaking links already delivered. Every secret is trimmed, the
 * current one too: a secret must keep its key id when it moves from current to previous.
 * Error messages give lengths, never the secrets themselves.
 */
export function signingKeysFromEnv(env: Env = process.env): SigningKeys {
  const current = (env[SECRET_VARIABLE] ?? '').trim();
  const previous = (env[PREVIOUS_SECRETS_VARIABLE] ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');

  const problems: ConfigProblem[] = [];
  if (current === '' && previous.length > 0) {
    // Most likely the current secret was lost in a deploy: signing with the development key
    // would silently make every new link forgeable.
    problems.push({ variable: SECRET_VARIABLE, message: `required when ${PREVIOUS_SECRETS_VARIABLE} is set (not set)` });
  }
  if (current !== '' && current.length < MIN_SECRET_LENGTH) {
    problems.push({
      variable: SECRET_VARIABLE,
      message: `must be at least ${MIN_SECRET_LENGTH} characters long (got ${current.length} characters)`,
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

  if (current === '') return { keys: keyRing(DEVELOPMENT_SECRET), development: true };
  return { keys: keyRing(current, previous), development: false };
}

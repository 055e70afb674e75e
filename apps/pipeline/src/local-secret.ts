import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readSigningSecretFile } from '@mailbeacon/contracts';

/**
 * The signing secret of a local installation started with `npm start` without
 * MAILBEACON_SECRET: made once, kept in a file readable by its owner only, so links sent
 * before a restart keep working (the public development key would let anyone forge links).
 * Every process and command run from the checkout reads it (signingKeysFromEnv); this is the
 * one place that creates it. A file that is there is read as they read it, never replaced:
 * a bad one is a ConfigError naming it.
 */
export function localSecret(file: string): { secret: string; created: boolean } {
  const existing = readSigningSecretFile(file);
  if (existing !== undefined) return { secret: existing, created: false };
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  // 'wx': should another `npm start` have made it meanwhile, its key is not overwritten.
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, created: true };
}

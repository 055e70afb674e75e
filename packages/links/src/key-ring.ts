import { createHash } from 'node:crypto';

/** A signing key with the short id that tracking URLs carry, so keys can rotate. */
export interface SigningKey {
  readonly id: string;
  readonly secret: Buffer;
}

/**
 * The current key signs; every key in the ring (current and previous) verifies.
 * Rotation: make the new secret current and keep the old one as previous until
 * no message signed with it can still be clicked.
 */
export interface KeyRing {
  readonly current: SigningKey;
  find(id: string): SigningKey | undefined;
}

export class InvalidSecretError extends Error {
  override readonly name = 'InvalidSecretError';
}

export const MIN_SECRET_LENGTH = 16;

/** Key ids are derived from the secret, so operators never have to name their keys. */
export function signingKey(secret: string): SigningKey {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new InvalidSecretError(`a signing secret must be at least ${MIN_SECRET_LENGTH} characters long`);
  }
  const id = createHash('sha256').update('mailbeacon key id\n').update(secret).digest('base64url').slice(0, 8);
  return { id, secret: Buffer.from(secret, 'utf8') };
}

export function keyRing(currentSecret: string, previousSecrets: readonly string[] = []): KeyRing {
  const current = signingKey(currentSecret);
  const byId = new Map<string, SigningKey>([[current.id, current]]);
  for (const secret of previousSecrets) {
    const key = signingKey(secret);
    if (!byId.has(key.id)) byId.set(key.id, key);
  }
  return { current, find: (id) => byId.get(id) };
}

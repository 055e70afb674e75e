import { describeSigningKeys, signingKeysFromEnv, type SigningKeys } from '@mailbeacon/contracts';
import type { CommandInput } from './command';

/**
 * The keys `rewrite` and `resolve` sign and verify with, found as every process finds them,
 * and the stderr line that says where they came from when it is not MAILBEACON_SECRET (the key
 * file of the checkout, or the public development key): a link that does not resolve is then
 * explained at once.
 */
export function commandSigningKeys({ env, checkoutRoot }: CommandInput): SigningKeys & { notice: string } {
  const signing = signingKeysFromEnv(env, checkoutRoot);
  return { ...signing, notice: signing.source.kind === 'environment' ? '' : `${describeSigningKeys(signing).message}\n` };
}

import { keyRing } from '@mailbeacon/links';
import { rewriteMessage, type RewriteOptions, type RewriteResult } from '@mailbeacon/rewrite';
import { workerData } from 'node:worker_threads';

/** Rewrite options that can cross a thread boundary (the key ring is rebuilt here from the secrets). */
export type ThreadRewriteOptions = Omit<RewriteOptions, 'keys'>;

export interface ThreadTask {
  raw: Uint8Array;
  options: ThreadRewriteOptions;
}

/** The secrets the main thread read (SigningKeys.secrets): every thread signs with the same key. */
export interface SigningSecrets {
  readonly current: string;
  readonly previous: readonly string[];
}

const { signing } = workerData as { signing: SigningSecrets };
const keys = keyRing(signing.current, signing.previous);

/** Runs in a worker thread of the rewrite pool. */
export default async function rewriteInThread({ raw, options }: ThreadTask): Promise<RewriteResult> {
  return rewriteMessage(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), { ...options, keys });
}

import { signingKeysFromEnv, type Env } from '@mailbeacon/contracts';
import { rewriteMessage, type RewriteOptions, type RewriteResult } from '@mailbeacon/rewrite';
import { workerData } from 'node:worker_threads';

/** Rewrite options that can cross a thread boundary (the key ring is rebuilt here from the secrets). */
export type ThreadRewriteOptions = Omit<RewriteOptions, 'keys'>;

export interface ThreadTask {
  raw: Uint8Array;
  options: ThreadRewriteOptions;
}

const { keys } = signingKeysFromEnv((workerData as { signing: Env } | undefined)?.signing ?? {});

/** Runs in a worker thread of the rewrite pool. */
export default async function rewriteInThread({ raw, options }: ThreadTask): Promise<RewriteResult> {
  return rewriteMessage(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), { ...options, keys });
}

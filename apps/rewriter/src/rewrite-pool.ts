import path from 'node:path';
import { signingKeysFromEnv, type Env } from '@mailbeacon/contracts';
import { rewriteMessage, type RewriteResult } from '@mailbeacon/rewrite';
import { Piscina } from 'piscina';
import type { ThreadRewriteOptions, ThreadTask } from './rewrite-thread';

/** Rewrites messages on worker threads (or, with 0 threads, on the calling thread). */
export interface RewritePool {
  rewrite(raw: Buffer, options: ThreadRewriteOptions): Promise<RewriteResult>;
  close(): Promise<void>;
}

/** The compiled thread module (from src/ under ts-jest as from dist/ in production). */
const THREAD_MODULE = path.resolve(__dirname, '..', 'dist', 'rewrite-thread.js');

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function createRewritePool(threads: number, signing: Env): RewritePool {
  if (threads === 0) {
    const { keys } = signingKeysFromEnv(signing);
    return { rewrite: (raw, options) => rewriteMessage(raw, { ...options, keys }), close: async () => {} };
  }
  const piscina = new Piscina({ filename: THREAD_MODULE, minThreads: threads, maxThreads: threads, workerData: { signing } });
  return {
    async rewrite(raw, options) {
      const task: ThreadTask = { raw, options };
      const result: RewriteResult = await piscina.run(task);
      // Buffers arrive as plain Uint8Arrays after crossing the thread boundary.
      return { ...result, raw: asBuffer(result.raw) };
    },
    close: () => piscina.destroy(),
  };
}

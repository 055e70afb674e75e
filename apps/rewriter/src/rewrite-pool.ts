import path from 'node:path';
import { keyRing } from '@mailbeacon/links';
import { rewriteMessage, type RewriteResult } from '@mailbeacon/rewrite';
import { Piscina } from 'piscina';
import type { SigningSecrets, ThreadRewriteOptions, ThreadTask } from './rewrite-thread';

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

/**
 * Bytes that own their whole ArrayBuffer are handed to the thread without a copy. Small
 * Buffers share Node's allocation pool, which must never be transferred: those are copied.
 */
function transferable(bytes: Uint8Array): ArrayBuffer[] {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
}

export function createRewritePool(threads: number, signing: SigningSecrets): RewritePool {
  if (threads === 0) {
    const keys = keyRing(signing.current, signing.previous);
    return { rewrite: (raw, options) => rewriteMessage(raw, { ...options, keys }), close: async () => {} };
  }
  // A thread takes several tasks at once: rewriting yields while splitting, and a thread that
  // waits for the busy main thread to hand it the next task would sit idle.
  const piscina = new Piscina({ filename: THREAD_MODULE, minThreads: threads, maxThreads: threads, concurrentTasksPerWorker: 4, workerData: { signing } });
  return {
    async rewrite(raw, options) {
      const task: ThreadTask = { raw, options };
      const result: RewriteResult = await piscina.run(task, { transferList: transferable(raw) });
      // Buffers arrive as plain Uint8Arrays after crossing the thread boundary.
      return { ...result, raw: asBuffer(result.raw) };
    },
    close: () => piscina.destroy(),
  };
}

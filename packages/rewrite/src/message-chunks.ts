import type { Transform } from 'node:stream';
import { Splitter, type MimeNode } from '@zone-eu/mailsplit';

export type { MimeNode };

/** The message as mailsplit cuts it: header blocks, multipart structure and part bodies, in order. */
export type MessageChunk =
  | { type: 'node'; node: MimeNode }
  | { type: 'data'; value: Buffer }
  | { type: 'body'; node: MimeNode; value: Buffer };

export function chunkBytes(chunk: MessageChunk): Buffer {
  return chunk.type === 'node' ? chunk.node.getHeaders() : chunk.value;
}

export async function splitMessage(raw: Buffer): Promise<MessageChunk[]> {
  const splitter = new Splitter();
  const chunks: MessageChunk[] = [];
  return new Promise((resolve, reject) => {
    splitter.on('data', (data: MimeNode | { type: 'data' | 'body'; node: MimeNode; value: Buffer }) => {
      if (data.type === 'node') chunks.push({ type: 'node', node: data as MimeNode });
      else if (data.type === 'body') chunks.push({ type: 'body', node: data.node, value: data.value });
      else chunks.push({ type: 'data', value: data.value });
    });
    const stream = splitter as unknown as Transform;
    stream.on('error', reject);
    stream.on('end', () => resolve(chunks));
    splitter.end(raw);
  });
}

/** The message's own line ending: that of its first line. */
export function lineEnding(raw: Buffer): '\r\n' | '\n' {
  const lf = raw.indexOf(0x0a);
  return lf > 0 && raw[lf - 1] === 0x0d ? '\r\n' : lf < 0 ? '\r\n' : '\n';
}

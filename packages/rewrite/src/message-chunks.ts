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

export type LineEnding = '\r\n' | '\n';

/** The line ending most of the lines in `bytes` end with (CRLF on a tie); undefined without any line break. */
export function usedLineEnding(bytes: Buffer): LineEnding | undefined {
  let crlf = 0;
  let lf = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    if (i > 0 && bytes[i - 1] === 0x0d) crlf++;
    else lf++;
  }
  return crlf + lf === 0 ? undefined : crlf >= lf ? '\r\n' : '\n';
}

/**
 * The line ending to write into one piece of a message (a part's body, a header block): the
 * one the piece itself uses, else the message's. In a message that mostly uses CRLF — the
 * only ending allowed on the wire (RFC 5322) — it is always CRLF: a bare LF there is
 * rejected by some servers, even where the sender's own piece had them.
 */
export function lineEndingFor(piece: Buffer, message: LineEnding): LineEnding {
  return message === '\r\n' ? message : (usedLineEnding(piece) ?? message);
}

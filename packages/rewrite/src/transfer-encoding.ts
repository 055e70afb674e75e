import { isAscii } from 'node:buffer';
import * as libqp from 'libqp';
import * as libbase64 from 'libbase64';

export type TransferEncoding = '7bit' | '8bit' | 'binary' | 'quoted-printable' | 'base64';

const KNOWN: readonly TransferEncoding[] = ['7bit', '8bit', 'binary', 'quoted-printable', 'base64'];

/** RFC 5322: a line may not exceed 998 octets without its line break. */
export const MAX_LINE_OCTETS = 998;
/** RFC 2045: encoded lines are at most 76 characters. */
export const ENCODED_LINE_LENGTH = 76;

/** A missing header means 7bit; an unknown value means we must not touch the part. */
export function parseTransferEncoding(value: string | false): TransferEncoding | undefined {
  if (!value) return '7bit';
  const normalized = value.trim().toLowerCase();
  return (KNOWN as readonly string[]).includes(normalized) ? (normalized as TransferEncoding) : undefined;
}

function isValidBase64(body: Buffer): boolean {
  const compact = body.toString('latin1').replace(/[\r\n\t ]+/g, '');
  return /^[A-Za-z0-9+/]*={0,2}$/.test(compact) && compact.length % 4 !== 1;
}

/** The part's content bytes, or undefined when the body does not hold what its header says. */
export function decodeBody(body: Buffer, encoding: TransferEncoding): Buffer | undefined {
  switch (encoding) {
    case 'quoted-printable':
      return libqp.decode(body);
    case 'base64':
      return isValidBase64(body) ? libbase64.decode(body.toString('latin1')) : undefined;
    default:
      return body;
  }
}

function longestLine(content: Buffer): number {
  let longest = 0;
  let start = 0;
  for (let i = content.indexOf(0x0a); i >= 0; i = content.indexOf(0x0a, start)) {
    const end = i > start && content[i - 1] === 0x0d ? i - 1 : i;
    longest = Math.max(longest, end - start);
    start = i + 1;
  }
  return Math.max(longest, content.length - start);
}

/** Whether content can be sent as-is under an identity encoding (7bit, 8bit or binary). */
export function fitsIdentityEncoding(content: Buffer, encoding: TransferEncoding): boolean {
  if (encoding === 'binary') return true;
  if (encoding === '7bit' && !isAscii(content)) return false;
  return longestLine(content) <= MAX_LINE_OCTETS;
}

/**
 * libqp keeps every CR and LF literal; a lone one (not the line ending written here) is
 * data, and a bare CR or LF on the wire is forbidden (RFC 5322) and rewritten by relays.
 */
function escapeLoneLineBreaks(encoded: string, eol: string): string {
  return eol === '\r\n' ? encoded.replace(/\r(?!\n)/g, '=0D').replace(/(?<!\r)\n/g, '=0A') : encoded.replace(/\r/g, '=0D');
}

function encodeQuotedPrintable(content: Buffer, eol: string): Buffer {
  let encoded = libqp.wrap(escapeLoneLineBreaks(libqp.encode(content), eol), ENCODED_LINE_LENGTH);
  if (eol !== '\r\n') encoded = encoded.replace(/=\r\n/g, `=${eol}`);
  return Buffer.from(encoded, 'latin1');
}

/**
 * Encodes content for a body. `eol` is the line ending the part is written with (see lineEndingFor). `trailingEol`
 * keeps the line break that ended the original body where it is not content (base64, where
 * line breaks are only wrapping); in quoted-printable and identity bodies every line break
 * is content and already in `content`.
 */
export function encodeBody(content: Buffer, encoding: TransferEncoding, eol: string, trailingEol: boolean): Buffer {
  switch (encoding) {
    case 'quoted-printable':
      return encodeQuotedPrintable(content, eol);
    case 'base64': {
      const encoded = libbase64.wrap(libbase64.encode(content), ENCODED_LINE_LENGTH).replace(/\r?\n/g, eol);
      return Buffer.from(trailingEol ? encoded + eol : encoded, 'latin1');
    }
    default:
      return content;
  }
}

/** End offsets of a quoted-printable body's hard lines (a line ending in `=` continues on the next). */
function hardLineEnds(body: Buffer): number[] {
  const ends: number[] = [];
  let pos = 0;
  while (pos < body.length) {
    const lf = body.indexOf(0x0a, pos);
    if (lf < 0) {
      ends.push(body.length);
      break;
    }
    let last = lf - 1;
    while (last >= pos && (body[last] === 0x0d || body[last] === 0x20 || body[last] === 0x09)) last--;
    if (last < pos || body[last] !== 0x3d) ends.push(lf + 1);
    pos = lf + 1;
  }
  if (ends.length > 0 && ends[ends.length - 1] !== body.length) ends.push(body.length);
  return ends;
}

/**
 * Re-encodes a quoted-printable body after its decoded content changed from `before` to
 * `after`, keeping every hard line whose content did not change exactly as it was sent.
 * QP decoding is local to a hard line, so line i of the content is hard line i of the body —
 * unless the body encodes line breaks (`=0A`); then the line counts differ and the whole
 * content is encoded afresh.
 */
export function reencodeQuotedPrintable(body: Buffer, before: Buffer, after: Buffer, eol: string): Buffer {
  const pieces: Buffer[] = [];
  // Runs of unchanged hard lines are copied as one piece.
  let keptFrom = 0;
  let bodyPos = 0;
  let beforePos = 0;
  let afterPos = 0;
  for (const end of hardLineEnds(body)) {
    const beforeLf = before.indexOf(0x0a, beforePos);
    const afterLf = after.indexOf(0x0a, afterPos);
    if (beforeLf < 0 !== afterLf < 0) return encodeQuotedPrintable(after, eol);
    const beforeEnd = beforeLf < 0 ? before.length : beforeLf + 1;
    const afterEnd = afterLf < 0 ? after.length : afterLf + 1;
    if (before.compare(after, afterPos, afterEnd, beforePos, beforeEnd) !== 0) {
      pieces.push(body.subarray(keptFrom, bodyPos), encodeQuotedPrintable(after.subarray(afterPos, afterEnd), eol));
      keptFrom = end;
    }
    bodyPos = end;
    beforePos = beforeEnd;
    afterPos = afterEnd;
  }
  if (beforePos !== before.length || afterPos !== after.length) return encodeQuotedPrintable(after, eol);
  pieces.push(body.subarray(keptFrom));
  return Buffer.concat(pieces);
}

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
  if (encoding === '7bit') {
    for (let i = 0; i < content.length; i++) if (content[i] > 0x7f) return false;
  }
  return longestLine(content) <= MAX_LINE_OCTETS;
}

/**
 * Encodes content for a body. `eol` is the message's own line ending style; `trailingEol`
 * keeps a final line break where the original body had one.
 */
export function encodeBody(content: Buffer, encoding: TransferEncoding, eol: string, trailingEol: boolean): Buffer {
  let encoded: string;
  switch (encoding) {
    case 'quoted-printable':
      encoded = libqp.wrap(libqp.encode(content), ENCODED_LINE_LENGTH);
      if (eol !== '\r\n') encoded = encoded.replace(/=\r\n/g, `=${eol}`);
      break;
    case 'base64':
      encoded = libbase64.wrap(libbase64.encode(content), ENCODED_LINE_LENGTH).replace(/\r?\n/g, eol);
      break;
    default:
      return content;
  }
  if (trailingEol && !encoded.endsWith('\n')) encoded += eol;
  return Buffer.from(encoded, 'latin1');
}

import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

/**
 * A part's text as a string, and the way back to bytes. Rewriting only splices ASCII URLs
 * into the text, so a view that round-trips the original bytes exactly reproduces every
 * byte of the part that was not rewritten.
 */
export interface TextView {
  text: string;
  encode(text: string): Buffer;
  /**
   * True when the bytes could not be decoded losslessly in their charset and are seen one
   * character per byte instead (exact, and safe for ASCII-compatible charsets, where every
   * URL and every bit of HTML syntax is ASCII). Only ASCII URLs may be rewritten then.
   */
  bytewise: boolean;
  /** Set when the text had to be re-encoded in another charset: the new Content-Type charset. */
  transcodedTo?: string;
}

/** Charsets whose bytes for ASCII characters are not plain ASCII bytes (stateful or wide). */
const NOT_ASCII_COMPATIBLE = /^(utf-?(7|16|32)|ucs-?(2|4)|unicode|iso-?2022|csiso2022|hz-gb|x-ebcdic|ebcdic|cp0?37$|ibm0?37$|cp500$|ibm500$|cp1026$)/;

function iconvName(label: string): string | undefined {
  for (const name of [label, label.replace(/^x-/, '')]) if (iconv.encodingExists(name)) return name;
  return undefined;
}

const latin1View = (bytes: Buffer, bytewise: boolean): TextView => ({
  text: bytes.toString('latin1'),
  encode: (text) => Buffer.from(text, 'latin1'),
  bytewise,
});

/** Returns undefined when the part's text cannot be read without risking its content. */
export function openTextView(bytes: Buffer, charset: string | false): TextView | undefined {
  const label = (charset || 'us-ascii').trim().toLowerCase().replace(/^"|"$/g, '');

  if (label === 'utf-8' || label === 'utf8') {
    // Invalid UTF-8 would come back as U+FFFD: the exact byte view then.
    if (isUtf8(bytes)) return { text: bytes.toString('utf8'), encode: (t) => Buffer.from(t, 'utf8'), bytewise: false };
    return latin1View(bytes, true);
  }

  // Pure ASCII reads the same in every ASCII-compatible charset (including a mislabelled one).
  if (!NOT_ASCII_COMPATIBLE.test(label) && isAscii(bytes)) return latin1View(bytes, false);

  const name = iconvName(label);
  if (name) {
    const text = iconv.decode(bytes, name, { stripBOM: false });
    const encode = (t: string): Buffer => iconv.encode(t, name, { addBOM: false });
    if (encode(text).equals(bytes)) return { text, encode, bytewise: false };
  }

  if (!NOT_ASCII_COMPATIBLE.test(label)) return latin1View(bytes, true);

  // Stateful or wide charsets we can decode but not encode (ISO-2022-JP…): the rewritten
  // part is written as UTF-8 and relabelled, which every mail client reads.
  try {
    const text = new TextDecoder(label, { fatal: true }).decode(bytes);
    return { text, encode: (t) => Buffer.from(t, 'utf8'), bytewise: false, transcodedTo: 'utf-8' };
  } catch {
    return undefined;
  }
}

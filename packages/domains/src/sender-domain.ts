import { Headers } from '@zone-eu/mailsplit';
import addressparser from 'nodemailer/lib/addressparser';

/** The header block of a raw message: everything up to the first empty line. */
function headerBlock(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const ends = [crlf >= 0 ? crlf + 4 : -1, lf >= 0 ? lf + 2 : -1].filter((i) => i >= 0);
  return ends.length ? raw.subarray(0, Math.min(...ends)) : raw;
}

/** The domain of the message's From address (lower case), or undefined when it has none. */
export function senderDomain(raw: Buffer): string | undefined {
  const from = new Headers(headerBlock(raw)).getFirst('from');
  if (!from) return undefined;
  const addresses = addressparser(from, { flatten: true });
  const address = addresses.find((a) => a.address.includes('@'))?.address;
  if (!address) return undefined;
  const domain = address.slice(address.lastIndexOf('@') + 1).trim().toLowerCase().replace(/\.$/, '');
  return domain === '' ? undefined : domain;
}

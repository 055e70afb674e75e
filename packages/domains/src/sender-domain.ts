import { Headers } from '@zone-eu/mailsplit';
import addressparser from 'nodemailer/lib/addressparser';

/** The header block of a raw message: its lines up to the first empty one (only they are read). */
function headerBlock(raw: Buffer): Buffer {
  for (let start = 0; start < raw.length; ) {
    const lf = raw.indexOf(0x0a, start);
    if (lf < 0) break;
    const empty = lf === start || (lf === start + 1 && raw[start] === 0x0d);
    if (empty) return raw.subarray(0, lf + 1);
    start = lf + 1;
  }
  return raw;
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

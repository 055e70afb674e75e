import { isIP } from 'node:net';

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An IP address (v4 or v6, without brackets) or a DNS host name. */
export function isAddressOrHostName(text: string): boolean {
  return isIP(text) !== 0 || HOST_NAME.test(text);
}

/**
 * Whether a host is, or would be read as, an IP address: IPv6 (bracketed or not), or a name
 * whose last label is a number (decimal, octal or 0x hex). Resolvers (inet_aton) and URL
 * parsers (WHATWG "ends in a number") take `127.1`, `0x7f.0.0.1`, `2130706433` or `10.0.0.0x1`
 * for IPv4 addresses, so no such name can ever be a domain name.
 */
export function readsAsIpAddress(host: string): boolean {
  const unbracketed = /^\[(.*)\]$/.exec(host)?.[1] ?? host;
  if (isIP(unbracketed) !== 0) return true;
  const labels = unbracketed.replace(/\.$/, '').split('.');
  return /^([0-9]+|0x[0-9a-f]*)$/i.test(labels[labels.length - 1]);
}

import { isIP } from 'node:net';

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An IP address (v4 or v6, without brackets) or a DNS host name. */
export function isAddressOrHostName(text: string): boolean {
  return isIP(text) !== 0 || HOST_NAME.test(text);
}

import { isIPv4, isIPv6 } from 'node:net';

/*
 * What the tracker keeps of a recipient's address. Pure functions, no I/O: the operator picks
 * a policy (IP_STORAGE) and every event gets the address through storedAddress.
 *
 * - `full`: the address in canonical form (IPv4 dotted quad; IPv6 lower case, RFC 5952
 *   compressed; an IPv4-mapped IPv6 address such as `::ffff:192.0.2.7`, which a dual-stack
 *   socket reports for an IPv4 client, as the IPv4 address it is).
 * - `truncated`: the network only: IPv4 to its /24 (`192.0.2.0`), IPv6 to its /48
 *   (`2001:db8:1::`). Enough for rough geography and abuse patterns, not a person.
 * - `none`: nothing (null).
 *
 * Anything that is not an IP address (a proxy writing `unknown` into X-Forwarded-For) is
 * stored as null whatever the policy: never a string nobody can interpret.
 */

export const IP_STORAGE_POLICIES = ['full', 'truncated', 'none'] as const;
export type IpStorage = (typeof IP_STORAGE_POLICIES)[number];

export const isIpStorage = (value: string): value is IpStorage => (IP_STORAGE_POLICIES as readonly string[]).includes(value);

/** The four octets of a dotted-quad IPv4 address (node's isIPv4: no leading zeros, no hex, no short forms). */
function ipv4Octets(address: string): number[] | undefined {
  if (!isIPv4(address)) return undefined;
  return address.split('.').map(Number);
}

/** The eight 16-bit groups of an IPv6 address; a zone id (`%eth0`) is dropped. */
function ipv6Groups(address: string): number[] | undefined {
  const text = address.replace(/%.*$/s, '');
  if (!isIPv6(text)) return undefined;
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const pieces = part.split(':');
    const groups: number[] = [];
    for (const piece of pieces) {
      if (piece.includes('.')) {
        const [a, b, c, d] = ipv4Octets(piece) ?? [0, 0, 0, 0];
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const gap = text.indexOf('::');
  if (gap === -1) return toGroups(text);
  const head = toGroups(text.slice(0, gap));
  const tail = toGroups(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** `::ffff:a.b.c.d` (in any spelling) as its IPv4 octets. */
function mappedIPv4(groups: readonly number[]): number[] | undefined {
  for (let i = 0; i < 5; i++) if (groups[i] !== 0) return undefined;
  if (groups[5] !== 0xffff) return undefined;
  return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff];
}

/** RFC 5952: lower-case hex, no leading zeros, the longest run (the first of equals) of two or more zero groups as `::`. */
function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

type Parsed = { version: 4; octets: number[] } | { version: 6; groups: number[] };

function parse(address: string): Parsed | undefined {
  const octets = ipv4Octets(address);
  if (octets) return { version: 4, octets };
  const groups = ipv6Groups(address);
  if (!groups) return undefined;
  const mapped = mappedIPv4(groups);
  return mapped ? { version: 4, octets: mapped } : { version: 6, groups };
}

/** The canonical form of an address, or undefined when it is not one. */
export function normalizeAddress(address: string): string | undefined {
  const parsed = parse(address);
  if (!parsed) return undefined;
  return parsed.version === 4 ? parsed.octets.join('.') : formatIPv6(parsed.groups);
}

/** The /24 of an IPv4 address or the /48 of an IPv6 one, or undefined when it is not an address. */
export function truncateAddress(address: string): string | undefined {
  const parsed = parse(address);
  if (!parsed) return undefined;
  if (parsed.version === 4) return `${parsed.octets[0]}.${parsed.octets[1]}.${parsed.octets[2]}.0`;
  return formatIPv6([parsed.groups[0], parsed.groups[1], parsed.groups[2], 0, 0, 0, 0, 0]);
}

/** What an event records of the client's address under `policy`. */
export function storedAddress(address: string | undefined, policy: IpStorage): string | null {
  if (policy === 'none' || address === undefined) return null;
  return (policy === 'full' ? normalizeAddress(address) : truncateAddress(address)) ?? null;
}

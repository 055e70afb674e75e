import { randomUUID } from 'node:crypto';
import type { ClickEvent, OpenEvent, TrackedMessageEvent } from '@mailbeacon/contracts';

/*
 * Tracking events as the rewriter and the tracker emit them, for aggregator tests and
 * benchmarks. Times are given in milliseconds; everything else has a plain default.
 */

export const FIXTURE_SERVER = 'srv-test';
export const FIXTURE_DOMAIN = 'click.example.com';
export const BROWSER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';

/** A message token (16-64 of [A-Za-z0-9_-]) made from a short name; the '.' ends the name, so `c1` and `c10` differ. */
export function fixtureToken(name: string | number): string {
  return `tok_${name}.`.padEnd(20, 'x').replace('.', '-');
}

export function linkUrl(index: number): string {
  return `https://shop.example.com/item/${index}?utm_source=mail`;
}

export interface MessageFixture {
  at: number;
  server?: string;
  tag?: string;
  trackingDomain?: string;
  links?: number;
  platformMessageId?: string;
  recipient?: string;
}

export function messageEventFixture(token: string, options: MessageFixture): TrackedMessageEvent {
  return {
    type: 'message',
    id: randomUUID(),
    messageToken: token,
    server: options.server ?? FIXTURE_SERVER,
    platformMessageId: options.platformMessageId ?? `<${token}@mail.example.com>`,
    ...(options.recipient !== undefined ? { recipient: options.recipient } : { recipient: `${token}@example.org` }),
    ...(options.tag !== undefined ? { tag: options.tag } : {}),
    trackingDomain: options.trackingDomain ?? FIXTURE_DOMAIN,
    links: Array.from({ length: options.links ?? 5 }, (_, index) => ({ index, url: linkUrl(index) })),
    pixel: true,
    at: new Date(options.at).toISOString(),
  };
}

export interface HitFixture {
  at: number;
  server?: string;
  ip?: string | null;
  userAgent?: string | null;
  method?: 'GET' | 'HEAD';
  purpose?: string;
}

function hitFields(token: string, options: HitFixture) {
  return {
    id: randomUUID(),
    server: options.server ?? FIXTURE_SERVER,
    messageToken: token,
    at: new Date(options.at).toISOString(),
    ip: options.ip === undefined ? '192.0.2.0' : options.ip,
    userAgent: options.userAgent === undefined ? BROWSER_AGENT : options.userAgent,
    method: options.method ?? 'GET',
    ...(options.purpose !== undefined ? { purpose: options.purpose } : {}),
  };
}

export function openEventFixture(token: string, options: HitFixture): OpenEvent {
  return { type: 'open', ...hitFields(token, options) };
}

export function clickEventFixture(token: string, linkIndex: number, options: HitFixture): ClickEvent {
  return { type: 'click', ...hitFields(token, options), linkIndex, url: linkUrl(linkIndex) };
}

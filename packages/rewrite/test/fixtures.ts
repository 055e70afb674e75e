import { keyRing, verifyLink, verifyPixel } from '@mailbeacon/links';
import type { RewriteOptions } from '../src/rewrite-options';

export const keys = keyRing('test-secret-0123456789abcdef');
export const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAA';

export function options(overrides: Partial<RewriteOptions> = {}): RewriteOptions {
  return { trackingDomain: 'click.example.com', server: 'srv', keys, messageToken: TOKEN, ...overrides };
}

const TRACKING_URL = /https?:\/\/click\.example\.com\/[A-Za-z0-9_\-/]+/g;

/** Every tracking URL in a text with the destination it verifies to. */
export function trackedIn(text: string): { tracking: string; url: string; index: number }[] {
  return [...text.matchAll(TRACKING_URL)]
    .map((m) => m[0])
    .filter((u) => u.includes('/c/'))
    .map((tracking) => {
      const verified = verifyLink(keys, tracking);
      if (!verified.ok) throw new Error(`tracking URL does not verify (${verified.reason}): ${tracking}`);
      return { tracking, url: verified.value.url, index: verified.value.linkIndex };
    });
}

export function pixelsIn(text: string): string[] {
  return [...text.matchAll(TRACKING_URL)].map((m) => m[0]).filter((u) => u.includes('/o/') && verifyPixel(keys, u).ok);
}

/** Replaces each tracking URL by its destination (what a reader would reach). */
export function untrack(text: string): string {
  return text.replace(TRACKING_URL, (u) => {
    const v = verifyLink(keys, u);
    return v.ok ? v.value.url : u;
  });
}

/** A message from header lines and a body, with CRLF (or the given line ending). */
export function message(headers: string[], body: string, eol = '\r\n'): Buffer {
  return Buffer.from(headers.join(eol) + eol + eol + body.replace(/\r?\n/g, eol), 'latin1');
}

export const BASE_HEADERS = ['From: Sender <news@example.com>', 'To: reader@example.net', 'Subject: Hello', 'MIME-Version: 1.0'];

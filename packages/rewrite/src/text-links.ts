import { applySplices, type Splice } from './splice';

export interface TextRewrite {
  text: string;
  changed: boolean;
}

/*
 * A URL in plain text runs over the characters URLs are made of (RFC 3986) plus the letters
 * of alphabetic scripts (IRIs such as https://example.fr/café), but stops at CJK and other
 * scripts written without spaces, so the text after a URL is not swallowed. What a writer
 * puts after a URL — sentence punctuation, a closing quote or bracket — is given back to the text.
 */
const TEXT_URL = /\bhttps?(?:\+notrack)?:\/\/(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]|[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{M}])+/giu;
const TRAILING_PUNCTUATION = /[.,:;!?'"]/;
const CLOSERS: Record<string, string> = { ')': '(', ']': '[' };

function count(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** Strips trailing punctuation and closing brackets that have no opening partner inside the URL. */
export function trimUrlEnd(candidate: string): string {
  let url = candidate;
  for (;;) {
    const last = url[url.length - 1];
    if (TRAILING_PUNCTUATION.test(last)) {
      url = url.slice(0, -1);
    } else if (last in CLOSERS && count(url, last) > count(url, CLOSERS[last])) {
      url = url.slice(0, -1);
    } else {
      return url;
    }
  }
}

/** Rewrites every http(s) URL in plain text for which `rewriteUrl` returns a new URL. */
export function rewriteText(text: string, rewriteUrl: (url: string) => string | undefined): TextRewrite {
  const splices: Splice[] = [];
  for (const match of text.matchAll(TEXT_URL)) {
    const url = trimUrlEnd(match[0]);
    const replacement = rewriteUrl(url);
    if (replacement !== undefined) splices.push({ start: match.index, end: match.index + url.length, text: replacement });
  }
  return { text: applySplices(text, splices), changed: splices.length > 0 };
}

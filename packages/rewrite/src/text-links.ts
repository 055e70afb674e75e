import { applySplices, type Splice } from './splice';

export interface TextRewrite {
  text: string;
  changed: boolean;
}

/*
 * Where a URL in plain text ends is decided the way mail clients' linkifiers do it (GFM's
 * extended autolinks, linkify-it): a URL runs over every printable ASCII character except
 * space and the delimiters RFC 3986 appendix C names (`<`, `>`, `"`), so `|`, `{`, `}`, `^`
 * and the like stay in it, plus the letters of alphabetic scripts (IRIs such as
 * https://example.fr/café). It stops for sure at whitespace, control characters, those
 * delimiters, non-ASCII punctuation (“…”, «…», 。) and scripts written without spaces (CJK,
 * Thai…), so the text after a URL is not swallowed. What a writer puts after a URL — sentence
 * punctuation, a closing quote or bracket — is given back to the text. Markdown's marks (`*`,
 * `_`, `~`, backtick) are ordinary URL characters (`/wiki/Foo_`, `/~`) and leave the end only
 * when the same mark opens right before the URL (`_https://x.example/a_`), as brackets balance.
 *
 * Any other character right after the run (an emoji, another script's letter, an invisible
 * format character) may or may not belong to the URL depending on the client: such a URL is
 * left untracked as a whole rather than tracked in part, which would cut its destination and
 * leave the rest as text after the tracking link.
 */
// Not after an ASCII letter or digit (`xhttps://`), but after `_` (markdown emphasis).
const URL_START = /(?<![A-Za-z0-9])https?(?:\+notrack)?:\/\//giu;
const URL_RUN = /(?:[!#-;=?-~]|[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{M}])*/uy;
const URL_END =
  /[\s\p{Cc}<>"\p{P}\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}\p{scx=Bopomofo}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]/uy;
/** Where the text around an untracked URL gets back to certain ground. */
const AFTER_TOKEN = /[\s<>"]/g;
const TRAILING_PUNCTUATION = /[.,:;!?']/;
/** The run of one markdown mark that ends the text before a URL (`**` in `**https://…**`). */
const OPENING_MARKS = /([*_~`])\1*$/;
/** Long enough for any real run of marks; bounds the look back whatever the text. */
const MARKS_LOOKBACK = 8;
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

function count(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/**
 * Strips trailing punctuation, closing brackets that have no opening partner inside the URL,
 * and the markdown marks that close `openingMarks` (the run of one mark right before the URL).
 */
export function trimUrlEnd(candidate: string, openingMarks = ''): string {
  let url = candidate;
  let marksLeft = openingMarks.length;
  for (;;) {
    const last = url[url.length - 1];
    if (TRAILING_PUNCTUATION.test(last)) {
      url = url.slice(0, -1);
    } else if (marksLeft > 0 && last === openingMarks[0]) {
      url = url.slice(0, -1);
      marksLeft--;
    } else if (last in CLOSERS && count(url, last) > count(url, CLOSERS[last])) {
      url = url.slice(0, -1);
    } else {
      return url;
    }
  }
}

function endsUrl(text: string, at: number): boolean {
  URL_END.lastIndex = at;
  return at >= text.length || URL_END.test(text);
}

/** Rewrites every http(s) URL in plain text for which `rewriteUrl` returns a new URL. */
export function rewriteText(text: string, rewriteUrl: (url: string) => string | undefined): TextRewrite {
  const splices: Splice[] = [];
  URL_START.lastIndex = 0;
  for (let start = URL_START.exec(text); start; start = URL_START.exec(text)) {
    URL_RUN.lastIndex = start.index + start[0].length;
    URL_RUN.test(text);
    const runEnd = URL_RUN.lastIndex;
    if (endsUrl(text, runEnd)) {
      const marks = OPENING_MARKS.exec(text.slice(Math.max(0, start.index - MARKS_LOOKBACK), start.index))?.[0];
      const url = trimUrlEnd(text.slice(start.index, runEnd), marks);
      const replacement = rewriteUrl(url);
      if (replacement !== undefined) splices.push({ start: start.index, end: start.index + url.length, text: replacement });
      URL_START.lastIndex = runEnd;
    } else {
      AFTER_TOKEN.lastIndex = runEnd;
      URL_START.lastIndex = AFTER_TOKEN.exec(text)?.index ?? text.length;
    }
  }
  return { text: applySplices(text, splices), changed: splices.length > 0 };
}

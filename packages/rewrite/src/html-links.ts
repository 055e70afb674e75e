import { Tokenizer } from 'htmlparser2';
import { decodeHTMLAttribute } from 'entities';
import { applySplices, type Splice } from './splice';

/** Decides the new source text of one link; undefined leaves it as it is. */
export interface HtmlLinkRewriter {
  /** `url` is the destination a browser would follow; returns the new (unescaped) URL or undefined. */
  rewriteUrl(url: string): string | undefined;
  /** True for an image that already is our open pixel (a message rewritten twice gets no second one). */
  isOpenPixel(src: string): boolean;
}

export interface HtmlRewrite {
  html: string;
  changed: boolean;
  pixelAdded: boolean;
}

/** Elements whose href a reader clicks: links, image-map areas and Outlook's VML shapes (bulletproof buttons). */
function isLinkElement(tag: string): boolean {
  return tag === 'a' || tag === 'area' || tag.startsWith('v:');
}

const CONDITIONAL_COMMENT = /^\s*\[if\s/i;
const ASCII_WHITESPACE = /[\t\n\f\r ]/;

/** What a browser does to an href before following it: strip C0/space around, drop tabs and newlines inside. */
function browserUrl(decoded: string): string {
  return decoded.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
}

function endBeforeTrailingWhitespace(text: string): number {
  let end = text.length;
  while (end > 0 && ASCII_WHITESPACE.test(text[end - 1])) end--;
  return end;
}

export function escapeHtmlAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface ScanResult {
  /** Where `</body>` (or failing that `</html>`) starts, for the pixel. */
  bodyEnd: number;
  htmlEnd: number;
  hasPixel: boolean;
}

/**
 * Tokenizes HTML (no DOM, no entity decoding, so offsets are exact source positions) and
 * records a splice for every link value that changes. Downlevel-hidden conditional comments
 * (`<!--[if mso]>…<![endif]-->`) are tokenized again: Outlook renders, and its users click, them.
 */
function scanHtml(html: string, base: number, rewriter: HtmlLinkRewriter, splices: Splice[], result: ScanResult, inComment: boolean): void {
  let tag = '';
  let attribute = '';
  let valueStart = -1;
  let valueEnd = -1;
  let hrefSeen = false;

  const onValue = (start: number, end: number): void => {
    const raw = html.slice(start, end);
    if (attribute === 'href' && isLinkElement(tag)) {
      if (hrefSeen) return; // a browser follows the first href only
      hrefSeen = true;
      let from = 0;
      let to = raw.length;
      while (from < to && ASCII_WHITESPACE.test(raw[from])) from++;
      while (to > from && ASCII_WHITESPACE.test(raw[to - 1])) to--;
      if (from === to) return;
      const url = browserUrl(decodeHTMLAttribute(raw.slice(from, to)));
      const replacement = rewriter.rewriteUrl(url);
      if (replacement === undefined) return;
      splices.push({ start: base + start + from, end: base + start + to, text: escapeHtmlAttribute(replacement) });
    } else if (attribute === 'src' && tag === 'img' && !inComment) {
      if (rewriter.isOpenPixel(browserUrl(decodeHTMLAttribute(raw)))) result.hasPixel = true;
    }
  };

  const tokenizer = new Tokenizer(
    { decodeEntities: false },
    {
      onopentagname(start, end) {
        tag = html.slice(start, end).toLowerCase();
        hrefSeen = false;
      },
      onattribname(start, end) {
        attribute = html.slice(start, end).toLowerCase();
        valueStart = -1;
      },
      onattribdata(start, end) {
        if (valueStart < 0) valueStart = start;
        valueEnd = end;
      },
      onattribend() {
        if (valueStart >= 0) onValue(valueStart, valueEnd);
        attribute = '';
        valueStart = -1;
      },
      onopentagend() {
        tag = '';
      },
      onselfclosingtag() {
        tag = '';
      },
      onclosetag(start, end) {
        if (inComment) return;
        const name = html.slice(start, end).toLowerCase();
        if (name === 'body' || name === 'html') {
          const lt = html.lastIndexOf('<', start);
          if (name === 'body') result.bodyEnd = base + lt;
          else result.htmlEnd = base + lt;
        }
      },
      oncomment(start, end) {
        if (inComment) return;
        const text = html.slice(start, end);
        if (CONDITIONAL_COMMENT.test(text)) scanHtml(text, base + start, rewriter, splices, result, true);
      },
      oncdata() {},
      ondeclaration() {},
      onprocessinginstruction() {},
      ontext() {},
      ontextentity() {},
      onattribentity() {},
      onend() {},
    },
  );
  tokenizer.write(html);
  tokenizer.end();
}

/**
 * Rewrites the links of an HTML document and adds the open pixel (when given) just before
 * `</body>`; every other character stays exactly as it was.
 */
export function rewriteHtml(html: string, rewriter: HtmlLinkRewriter, pixelHtml?: string): HtmlRewrite {
  const splices: Splice[] = [];
  const scan: ScanResult = { bodyEnd: -1, htmlEnd: -1, hasPixel: false };
  scanHtml(html, 0, rewriter, splices, scan, false);
  let pixelAdded = false;
  if (pixelHtml !== undefined && !scan.hasPixel) {
    // Without </body> or </html>: at the end, but before the final line break(s), which
    // belong to the part's line structure.
    const at = scan.bodyEnd >= 0 ? scan.bodyEnd : scan.htmlEnd >= 0 ? scan.htmlEnd : endBeforeTrailingWhitespace(html);
    splices.push({ start: at, end: at, text: pixelHtml });
    pixelAdded = true;
  }
  return { html: applySplices(html, splices), changed: splices.length > 0, pixelAdded };
}

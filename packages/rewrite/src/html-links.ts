import { Tokenizer } from 'htmlparser2';
type Callbacks = ConstructorParameters<typeof Tokenizer>[1];
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

/**
 * A substring V8 stores flat. Given a sliced string (what `slice` returns for 13+ characters),
 * the tokenizer's character loop turns polymorphic and runs ~1.6x slower on every document
 * afterwards. Comments are small, so the copy is cheap.
 */
function flatCopy(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
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
 * Tokenizer callbacks (no DOM, no entity decoding, so offsets are exact source positions)
 * that record a splice for every link value that changes. Downlevel-hidden conditional
 * comments (`<!--[if mso]>…<![endif]-->`) are tokenized again: Outlook renders, and its users
 * click, them. A class rather than closures: every tokenizer then calls the same functions,
 * which keeps its call sites monomorphic (nested closure sets made tokenizing ~2x slower).
 */
class LinkScanner implements Callbacks {
  private tag = '';
  private attribute = '';
  private valueStart = -1;
  private valueEnd = -1;
  private hrefSeen = false;

  constructor(
    private readonly html: string,
    private readonly base: number,
    private readonly rewriter: HtmlLinkRewriter,
    private readonly splices: Splice[],
    private readonly result: ScanResult,
    private readonly inComment: boolean,
  ) {}

  scan(): void {
    const tokenizer = new Tokenizer({ decodeEntities: false }, this);
    tokenizer.write(this.html);
    tokenizer.end();
  }

  private onValue(start: number, end: number): void {
    const { html, tag, attribute } = this;
    if (attribute === 'href' && isLinkElement(tag)) {
      if (this.hrefSeen) return; // a browser follows the first href only
      this.hrefSeen = true;
      let from = start;
      let to = end;
      while (from < to && ASCII_WHITESPACE.test(html[from])) from++;
      while (to > from && ASCII_WHITESPACE.test(html[to - 1])) to--;
      if (from === to) return;
      const replacement = this.rewriter.rewriteUrl(browserUrl(decodeHTMLAttribute(html.slice(from, to))));
      if (replacement !== undefined) this.splices.push({ start: this.base + from, end: this.base + to, text: escapeHtmlAttribute(replacement) });
    } else if (attribute === 'src' && tag === 'img' && !this.inComment) {
      if (this.rewriter.isOpenPixel(browserUrl(decodeHTMLAttribute(html.slice(start, end))))) this.result.hasPixel = true;
    }
  }

  onopentagname(start: number, end: number): void {
    this.tag = this.html.slice(start, end).toLowerCase();
    this.hrefSeen = false;
  }
  onattribname(start: number, end: number): void {
    // Only two attribute names matter; compare lengths first to avoid a slice per attribute.
    const length = end - start;
    this.attribute = length === 4 || length === 3 ? this.html.slice(start, end).toLowerCase() : '';
    this.valueStart = -1;
  }
  onattribdata(start: number, end: number): void {
    if (this.valueStart < 0) this.valueStart = start;
    this.valueEnd = end;
  }
  onattribend(): void {
    if (this.valueStart >= 0 && this.attribute !== '') this.onValue(this.valueStart, this.valueEnd);
    this.attribute = '';
    this.valueStart = -1;
  }
  onopentagend(): void {
    this.tag = '';
  }
  onselfclosingtag(): void {
    this.tag = '';
  }
  onclosetag(start: number, end: number): void {
    if (this.inComment || end - start !== 4) return;
    const name = this.html.slice(start, end).toLowerCase();
    if (name === 'body') this.result.bodyEnd = this.base + this.html.lastIndexOf('<', start);
    else if (name === 'html') this.result.htmlEnd = this.base + this.html.lastIndexOf('<', start);
  }
  oncomment(start: number, end: number): void {
    if (this.inComment) return;
    const text = this.html.slice(start, end);
    if (CONDITIONAL_COMMENT.test(text)) new LinkScanner(flatCopy(text), this.base + start, this.rewriter, this.splices, this.result, true).scan();
  }
  oncdata(): void {}
  ondeclaration(): void {}
  onprocessinginstruction(): void {}
  ontext(): void {}
  ontextentity(): void {}
  onattribentity(): void {}
  onend(): void {}
}

/**
 * Rewrites the links of an HTML document and adds the open pixel (when given) just before
 * `</body>`; every other character stays exactly as it was.
 */
export function rewriteHtml(html: string, rewriter: HtmlLinkRewriter, pixelHtml?: string): HtmlRewrite {
  const splices: Splice[] = [];
  const scan: ScanResult = { bodyEnd: -1, htmlEnd: -1, hasPixel: false };
  new LinkScanner(html, 0, rewriter, splices, scan, false).scan();
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

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

/** The elements that matter: those whose href a reader clicks (links, image-map areas, Outlook's VML shapes in bulletproof buttons), and images (an existing pixel). */
const enum Tag {
  Other,
  Link,
  Img,
}
const enum Attribute {
  Other,
  Href,
  Src,
}

/** Case-insensitive comparison of html[start, end) with a lower-case ASCII word, without slicing. */
function sourceIs(html: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((html.charCodeAt(start + i) | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

function tagAt(html: string, start: number, end: number): Tag {
  if (sourceIs(html, start, end, 'a') || sourceIs(html, start, end, 'area')) return Tag.Link;
  if (end - start > 2 && (html.charCodeAt(start) | 0x20) === 0x76 /* v */ && html.charCodeAt(start + 1) === 0x3a /* : */) return Tag.Link;
  return sourceIs(html, start, end, 'img') ? Tag.Img : Tag.Other;
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
  private tag = Tag.Other;
  private attribute = Attribute.Other;
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
    if (attribute === Attribute.Href && tag === Tag.Link) {
      if (this.hrefSeen) return; // a browser follows the first href only
      this.hrefSeen = true;
      let from = start;
      let to = end;
      while (from < to && ASCII_WHITESPACE.test(html[from])) from++;
      while (to > from && ASCII_WHITESPACE.test(html[to - 1])) to--;
      if (from === to) return;
      const replacement = this.rewriter.rewriteUrl(browserUrl(decodeHTMLAttribute(html.slice(from, to))));
      if (replacement !== undefined) this.splices.push({ start: this.base + from, end: this.base + to, text: escapeHtmlAttribute(replacement) });
    } else if (attribute === Attribute.Src && tag === Tag.Img && !this.inComment) {
      if (this.rewriter.isOpenPixel(browserUrl(decodeHTMLAttribute(html.slice(start, end))))) this.result.hasPixel = true;
    }
  }

  onopentagname(start: number, end: number): void {
    this.tag = tagAt(this.html, start, end);
    this.hrefSeen = false;
  }
  onattribname(start: number, end: number): void {
    const { html } = this;
    this.attribute = sourceIs(html, start, end, 'href') ? Attribute.Href : sourceIs(html, start, end, 'src') ? Attribute.Src : Attribute.Other;
    this.valueStart = -1;
  }
  onattribdata(start: number, end: number): void {
    if (this.valueStart < 0) this.valueStart = start;
    this.valueEnd = end;
  }
  onattribend(): void {
    if (this.valueStart >= 0 && this.attribute !== Attribute.Other) this.onValue(this.valueStart, this.valueEnd);
    this.attribute = Attribute.Other;
    this.valueStart = -1;
  }
  onopentagend(): void {
    this.tag = Tag.Other;
  }
  onselfclosingtag(): void {
    this.tag = Tag.Other;
  }
  onclosetag(start: number, end: number): void {
    if (this.inComment) return;
    const { html } = this;
    if (sourceIs(html, start, end, 'body')) this.result.bodyEnd = this.base + html.lastIndexOf('<', start);
    else if (sourceIs(html, start, end, 'html')) this.result.htmlEnd = this.base + html.lastIndexOf('<', start);
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

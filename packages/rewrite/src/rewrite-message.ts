import { MAX_TRACKING_URL_LENGTH, newMessageToken, signLink, signPixel, TrackingUrlTooLongError } from '@mailbeacon/links';
import { openTextView } from './charset';
import { rewriteHtml, type HtmlLinkRewriter } from './html-links';
import { LinkPolicy, normalizeHost } from './link-policy';
import { chunkBytes, lineEndingFor, splitMessage, usedLineEnding, type LineEnding, type MessageChunk, type MimeNode } from './message-chunks';
import { openPixelHtml } from './open-pixel';
import { resolveRewriteOptions, type ResolvedRewriteOptions, type RewriteOptions } from './rewrite-options';
import { rewriteText } from './text-links';
import { TrackedLinks, type TrackedLink } from './tracked-links';
import { decodeBody, encodeBody, fitsIdentityEncoding, parseTransferEncoding, reencodeQuotedPrintable } from './transfer-encoding';

export interface RewriteResult {
  /** The tracked message; when left untracked, the input itself (for `X-AMP: skip`, minus that header). */
  raw: Buffer;
  messageToken: string;
  /** Tracked destinations by link index. */
  links: TrackedLink[];
  /** Whether an open pixel was added. */
  pixel: boolean;
  /** Why the whole message was left untracked (`code: explanation`). */
  skipped?: string;
  /** Parts left untouched and links left untracked inside a tracked message, and why. */
  notes: string[];
}

type PartKind = 'html' | 'text';

/** Which parts a reader sees as the message: text/html and text/plain bodies, not files or forwarded mail. */
function partKind(node: MimeNode): PartKind | undefined {
  if (node.multipart || node.disposition === 'attachment' || node.filename) return undefined;
  const type = (node.contentType || '').toLowerCase();
  const kind = type === 'text/html' ? 'html' : type === 'text/plain' ? 'text' : undefined;
  if (!kind) return undefined;
  for (let parent = node.parentNode; parent; parent = parent.parentNode) {
    // Forwarded messages are someone else's mail; signed or encrypted content must not change.
    if (parent.rfc822 || parent.multipart === 'signed' || parent.multipart === 'encrypted') return undefined;
  }
  return kind;
}

function isSignedOrEncrypted(node: MimeNode): boolean {
  const type = (node.contentType || '').toLowerCase();
  return node.multipart === 'signed' || node.multipart === 'encrypted' || type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime';
}

function hasXAmpSkip(root: MimeNode): boolean {
  if (!root.headers) return false;
  return root.headers.getList().some((h) => h.key === 'x-amp' && h.line.slice(h.line.indexOf(':') + 1).trim().toLowerCase() === 'skip');
}

interface PartOutcome {
  body?: Buffer;
  headersChanged?: boolean;
  pixel?: boolean;
  /** Why the part was left untouched. */
  note?: string;
  /** Why some of the part's links were left untracked (one note for them all). */
  longLinksNote?: string;
}

/** A destination as a note names it: long ones are cut (the note is for people and logs). */
function linkForNote(url: string): string {
  return JSON.stringify(url.length > 100 ? `${url.slice(0, 80)}…(${url.length} characters)` : url);
}

/** The distinct links of one part left untracked for their length, and the first as an example. */
class LongLinks {
  private readonly destinations = new Set<string>();
  private example?: { url: string; error: TrackingUrlTooLongError };

  add(url: string, error: TrackingUrlTooLongError): void {
    this.destinations.add(url);
    this.example ??= { url, error };
  }

  /** One note for the whole part: a message may hold thousands of such links. */
  note(): string | undefined {
    if (!this.example) return undefined;
    const { url, error } = this.example;
    const n = this.destinations.size;
    const what = error.what === 'tracking URL' ? 'tracking URL' : 'redirect (percent-encoded)';
    return (
      `${n} ${n === 1 ? 'link' : 'links'} left untracked: tracking URL or redirect over ${MAX_TRACKING_URL_LENGTH} characters (RFC 9110), ` +
      `${n === 1 ? '' : 'e.g. '}${linkForNote(url)}, whose ${what} would be ${error.length} characters`
    );
  }
}

class MessageRewriter {
  readonly links: TrackedLinks;
  private readonly policy: LinkPolicy;
  private readonly pixelHtml?: string;
  private readonly origin: string;

  constructor(
    private readonly options: ResolvedRewriteOptions,
    readonly messageToken: string,
  ) {
    const host = { host: options.trackingHost, ssl: options.ssl };
    this.policy = new LinkPolicy(options);
    this.links = new TrackedLinks((link) =>
      signLink(options.keys, host, { server: options.server, messageToken, linkIndex: link.index, url: link.url }),
    );
    if (options.trackOpens) this.pixelHtml = openPixelHtml(signPixel(options.keys, host, { server: options.server, messageToken }));
    this.origin = normalizeHost(options.trackingHost);
  }

  /** `untracked` collects the links that could have been tracked but are too long. */
  private urlRewriter(bytewise: boolean, untracked: LongLinks): (url: string) => string | undefined {
    return (url) => {
      const decision = this.policy.decide(url);
      if (decision.action === 'unwrap') return decision.url;
      if (decision.action !== 'track') return undefined;
      // In a byte-per-character view a non-ASCII URL is not the URL the reader sees.
      if (bytewise && /[^\x00-\x7f]/.test(url)) return undefined;
      try {
        return this.links.trackingUrl(decision.url);
      } catch (error) {
        if (!(error instanceof TrackingUrlTooLongError)) throw error;
        untracked.add(decision.url, error);
        return undefined;
      }
    };
  }

  private isOpenPixel(src: string): boolean {
    try {
      const url = new URL(src);
      return normalizeHost(url.hostname) === this.origin && url.pathname.startsWith('/o/');
    } catch {
      return false;
    }
  }

  /** `eol`: the line ending to write into this part's body. */
  rewritePart(node: MimeNode, kind: PartKind, body: Buffer, eol: LineEnding): PartOutcome {
    const encoding = parseTransferEncoding(node.encoding);
    if (!encoding) return { note: `unknown Content-Transfer-Encoding ${JSON.stringify(node.encoding)}` };
    const content = decodeBody(body, encoding);
    if (!content) return { note: `body is not valid ${encoding}` };
    const view = openTextView(content, node.charset);
    if (!view) return { note: `cannot decode charset ${JSON.stringify(node.charset)}` };

    const untracked = new LongLinks();
    const rewriteUrl = this.urlRewriter(view.bytewise, untracked);
    let text: string;
    let pixel = false;
    if (kind === 'html') {
      const rewriter: HtmlLinkRewriter = { rewriteUrl, isOpenPixel: (src) => this.isOpenPixel(src) };
      const result = rewriteHtml(view.text, rewriter, this.pixelHtml);
      if (!result.changed) return { longLinksNote: untracked.note() };
      text = result.html;
      pixel = result.pixelAdded;
    } else {
      const result = rewriteText(view.text, rewriteUrl);
      if (!result.changed) return { longLinksNote: untracked.note() };
      text = result.text;
    }

    const newContent = view.encode(text);
    let outEncoding = encoding;
    if ((encoding === '7bit' || encoding === '8bit') && !fitsIdentityEncoding(newContent, encoding)) outEncoding = 'quoted-printable';
    const newBody =
      encoding === 'quoted-printable' && !view.transcodedTo
        ? reencodeQuotedPrintable(body, content, newContent, eol)
        : encodeBody(newContent, outEncoding, eol, body.length > 0 && body[body.length - 1] === 0x0a);

    let headersChanged = false;
    if (outEncoding !== encoding) {
      this.setHeader(node, 'Content-Transfer-Encoding', outEncoding);
      headersChanged = true;
    }
    if (view.transcodedTo) {
      node.setCharset(view.transcodedTo);
      headersChanged = true;
    }
    return { body: newBody, headersChanged, pixel, longLinksNote: untracked.note() };
  }

  private setHeader(node: MimeNode, key: string, value: string): void {
    if (!node.headers) return;
    if (node.headers.hasHeader(key)) node.headers.update(key, value);
    else node.headers.add(key, value, Infinity);
  }
}

/** Whether the pieces, in order, are exactly the message (compared in place, no copy). */
function reproduces(pieces: Buffer[], raw: Buffer): boolean {
  let at = 0;
  for (const piece of pieces) {
    if (at + piece.length > raw.length || raw.compare(piece, 0, piece.length, at, at + piece.length) !== 0) return false;
    at += piece.length;
  }
  return at === raw.length;
}

/**
 * Turns a raw message into its tracked form. Never throws for bad input: whatever cannot be
 * tracked safely is returned unchanged, with the reason.
 */
export async function rewriteMessage(raw: Buffer, options: RewriteOptions): Promise<RewriteResult> {
  const resolved = resolveRewriteOptions(options);
  const messageToken = options.messageToken ?? newMessageToken();
  const notes: string[] = [];
  const untouched = (skipped: string): RewriteResult => ({ raw, messageToken, links: [], pixel: false, skipped, notes });

  if (raw.length > resolved.maxMessageBytes) return untouched(`too-large: the message is over ${resolved.maxMessageBytes} bytes`);

  let chunks: MessageChunk[];
  try {
    chunks = await splitMessage(raw);
  } catch (error) {
    return untouched(`unparseable: ${(error as Error).message}`);
  }
  const pieces = chunks.map(chunkBytes);
  if (chunks[0]?.type !== 'node' || !reproduces(pieces, raw)) {
    return untouched('unparseable: the MIME structure could not be read back byte for byte');
  }
  try {
    return rewriteChunks(raw, chunks, pieces, resolved, messageToken, notes);
  } catch (error) {
    // A bug of ours must never cost the sender the message.
    return untouched(`internal-error: ${(error as Error).message}`);
  }
}

function rewriteChunks(
  raw: Buffer,
  chunks: MessageChunk[],
  pieces: Buffer[],
  options: ResolvedRewriteOptions,
  messageToken: string,
  notes: string[],
): RewriteResult {
  const messageEol = usedLineEnding(raw) ?? '\r\n';
  const root = (chunks[0] as { node: MimeNode }).node;
  const result = (skipped?: string): RewriteResult => ({
    raw: Buffer.concat(pieces),
    messageToken,
    links: skipped ? [] : rewriter.links.list,
    pixel,
    ...(skipped ? { skipped } : {}),
    notes,
  });
  const rewriter = new MessageRewriter(options, messageToken);
  let pixel = false;

  if (hasXAmpSkip(root) && root.headers) {
    root.headers.remove('X-AMP');
    pieces[0] = root.headers.build(lineEndingFor(pieces[0], messageEol));
    return result('x-amp-skip: the message asked not to be tracked');
  }
  if (!options.signsAfterTracking && root.headers && root.headers.hasHeader('dkim-signature')) {
    return result('dkim-signed: tracking would break its DKIM signature; sign after tracking');
  }
  if (isSignedOrEncrypted(root)) return result('signed: the whole message is signed or encrypted');

  // Group each part's body chunks (a long body arrives in several).
  const bodies = new Map<MimeNode, number[]>();
  const headerChunk = new Map<MimeNode, number>();
  chunks.forEach((chunk, i) => {
    if (chunk.type === 'node') headerChunk.set(chunk.node, i);
    else if (chunk.type === 'body') {
      const list = bodies.get(chunk.node);
      if (list) list.push(i);
      else bodies.set(chunk.node, [i]);
    }
  });

  let partNumber = 0;
  for (const [node, headerIndex] of headerChunk) {
    partNumber++;
    const kind = partKind(node);
    if (!kind) continue;
    const indices = bodies.get(node) ?? [];
    const body = Buffer.concat(indices.map((i) => pieces[i]));
    const outcome = rewriter.rewritePart(node, kind, body, lineEndingFor(body, messageEol));
    if (outcome.note) notes.push(`part ${partNumber} (${node.contentType}): ${outcome.note}; left untouched`);
    if (outcome.longLinksNote) notes.push(`part ${partNumber} (${node.contentType}): ${outcome.longLinksNote}`);
    if (!outcome.body) continue;
    if (indices.length === 0) continue;
    pieces[indices[0]] = outcome.body;
    for (const i of indices.slice(1)) pieces[i] = Buffer.alloc(0);
    if (outcome.headersChanged && node.headers) pieces[headerIndex] = node.headers.build(lineEndingFor(pieces[headerIndex], messageEol));
    pixel ||= outcome.pixel === true;
  }
  return result();
}

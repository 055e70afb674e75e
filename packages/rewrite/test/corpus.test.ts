/*
 * The rewrite engine against real third-party mail (see @mailbeacon/testing's corpus.ts for where it lives).
 * Every eml file, and every html file wrapped in a realistic message, is tracked with clicks
 * and opens on; the output is then checked part by part against the input.
 */
import iconv from 'iconv-lite';
import * as libqp from 'libqp';
import * as libbase64 from 'libbase64';
import { decodeHTMLAttribute } from 'entities';
import { parseDocument } from 'htmlparser2';
import { render } from 'dom-serializer';
import { keyRing, verifyLink, verifyPixel } from '@mailbeacon/links';
import { rewriteMessage, type RewriteResult } from '../src/rewrite-message';
import type { RewriteOptions } from '../src/rewrite-options';
import { splitMessage, type MimeNode } from '../src/message-chunks';
import { corpusMissingMessage, corpusMode, listCorpus, readCorpusFile, canonicalHtml, wrapHtmlAsMessage, type CorpusFile } from '@mailbeacon/testing';

const keys = keyRing('corpus-test-secret-0123456789abcdef');
const SERVER = 'srv1';
const TOKEN = 'CorpusTestMessageToken01';
const TRACKING_HOST = 'click.example.com';

function options(overrides: Partial<RewriteOptions> = {}): RewriteOptions {
  return { trackingDomain: TRACKING_HOST, server: SERVER, keys, messageToken: TOKEN, trackClicks: true, trackOpens: true, ...overrides };
}

/** Click and pixel URLs on the tracking domain (their characters are base64url, digits and slashes only). */
const TRACKING_URL = /https?:\/\/click\.example\.com\/(?:c|o)\/[A-Za-z0-9_\-/]+/g;
const CLICK_URL = /https?:\/\/click\.example\.com\/c\/[A-Za-z0-9_\-/]+/g;
/** The open pixel exactly as the engine writes it. */
const PIXEL_IMG = /<img src="https?:\/\/click\.example\.com\/o\/[A-Za-z0-9_\-/]+" width="1" height="1" alt="" border="0" style="[^"]*">/g;

// ---------------------------------------------------------------------------------------------
// Reading a message as a sequence of items: header block + body of each MIME node, and the
// multipart data (preamble, boundaries, epilogue) between them.

interface NodeItem {
  kind: 'node';
  node: MimeNode;
  /** Index among the message's nodes (document order). */
  index: number;
  parent: number;
  header: Buffer;
  body: Buffer;
}
interface DataItem {
  kind: 'data';
  bytes: Buffer;
}
type Item = NodeItem | DataItem;

interface Parsed {
  raw: Buffer;
  items: Item[];
  nodes: NodeItem[];
}

async function parse(raw: Buffer): Promise<Parsed> {
  const chunks = await splitMessage(raw);
  const items: Item[] = [];
  const nodes: NodeItem[] = [];
  const byNode = new Map<unknown, NodeItem>();
  const bodyParts = new Map<NodeItem, Buffer[]>();
  const dataParts = new Map<DataItem, Buffer[]>();
  for (const chunk of chunks) {
    if (chunk.type === 'node') {
      const parentItem = chunk.node.parentNode ? byNode.get(chunk.node.parentNode) : undefined;
      const item: NodeItem = { kind: 'node', node: chunk.node, index: nodes.length, parent: parentItem ? parentItem.index : -1, header: chunk.node.getHeaders(), body: Buffer.alloc(0) };
      items.push(item);
      nodes.push(item);
      byNode.set(chunk.node, item);
      bodyParts.set(item, []);
    } else if (chunk.type === 'body') {
      const item = byNode.get(chunk.node);
      if (!item) throw new Error('body chunk of an unknown node');
      bodyParts.get(item)!.push(chunk.value);
    } else {
      const last = items[items.length - 1];
      if (last && last.kind === 'data') dataParts.get(last)!.push(chunk.value);
      else {
        const item: DataItem = { kind: 'data', bytes: Buffer.alloc(0) };
        items.push(item);
        dataParts.set(item, [chunk.value]);
      }
    }
  }
  for (const [item, parts] of bodyParts) item.body = Buffer.concat(parts);
  for (const [item, parts] of dataParts) item.bytes = Buffer.concat(parts);
  return { raw, items, nodes };
}

const typeOf = (item: NodeItem): string => (item.node.contentType || '').toLowerCase();

function ancestors(parsed: Parsed, item: NodeItem): NodeItem[] {
  const list: NodeItem[] = [];
  for (let p = item.parent; p >= 0; p = parsed.nodes[p].parent) list.push(parsed.nodes[p]);
  return list;
}

function shape(parsed: Parsed): string[] {
  return parsed.nodes.map((n) => `${n.index}:${typeOf(n) || '(none)'}${n.node.multipart ? `[multipart/${n.node.multipart}]` : ''} parent=${n.parent}`);
}

// ---------------------------------------------------------------------------------------------
// Decoding part contents.

function transferEncoding(item: NodeItem): string {
  return (item.node.encoding || '7bit').toString().trim().toLowerCase();
}

function decodeTransfer(item: NodeItem): Buffer {
  const encoding = transferEncoding(item);
  if (encoding === 'quoted-printable') return libqp.decode(item.body);
  if (encoding === 'base64') return libbase64.decode(item.body.toString('latin1'));
  return item.body;
}

function charsetLabel(item: NodeItem): string {
  return (item.node.charset || 'us-ascii').toString().trim().toLowerCase().replace(/^"|"$/g, '');
}

/**
 * A part's text: in its charset when the bytes decode losslessly in it, otherwise one
 * character per byte (latin1). Input and output parts go through the same function, so the
 * comparisons below are exact.
 */
function partText(item: NodeItem): string {
  const bytes = decodeTransfer(item);
  const label = charsetLabel(item);
  if (label === 'utf-8' || label === 'utf8') {
    const text = bytes.toString('utf8');
    return Buffer.from(text, 'utf8').equals(bytes) ? text : bytes.toString('latin1');
  }
  for (const name of [label, label.replace(/^x-/, '')]) {
    if (!iconv.encodingExists(name)) continue;
    const text = iconv.decode(bytes, name, { stripBOM: false });
    if (iconv.encode(text, name, { addBOM: false }).equals(bytes)) return text;
  }
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** ASCII-safe view for finding URLs (tracking URLs are ASCII). */
function urlSearchText(item: NodeItem): string {
  const bytes = decodeTransfer(item);
  return /^utf-?8$/.test(charsetLabel(item)) ? bytes.toString('utf8') : bytes.toString('latin1');
}

const isTextPart = (item: NodeItem): boolean => !item.node.multipart && (typeOf(item) === 'text/html' || typeOf(item) === 'text/plain');

// ---------------------------------------------------------------------------------------------
// Undoing the rewrite.

function destinationOf(tracking: string): string | undefined {
  const verified = verifyLink(keys, tracking);
  return verified.ok ? verified.value.url : undefined;
}

function untrackText(text: string): string {
  return text.replace(CLICK_URL, (u) => destinationOf(u) ?? u);
}

function untrackHtml(html: string): string {
  return html.replace(PIXEL_IMG, '').replace(CLICK_URL, (u) => {
    const dest = destinationOf(u);
    return dest === undefined ? u : dest.replace(/&/g, '&amp;');
  });
}

const domOf = (html: string): string => render(parseDocument(html, { decodeEntities: true }));

/** What a browser follows for an attribute's raw source value. */
const followedUrl = (raw: string): string =>
  decodeHTMLAttribute(raw.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, ''))
    .replace(/[\t\n\r]/g, '')
    .replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');

/**
 * The rewritten HTML (pixel removed) must be the original with only link values replaced:
 * every character between two tracking URLs is found, in order, in the original, and what the
 * original has in place of each tracking URL is a link value leading to that URL's destination.
 */
function onlyLinkValuesChanged(original: string, rewrittenWithoutPixel: string): string[] {
  const pieces = rewrittenWithoutPixel.split(/(https?:\/\/click\.example\.com\/c\/[A-Za-z0-9_\-/]+)/);
  const problems: string[] = [];
  if (pieces.length === 1) return original === pieces[0] ? [] : [`the text differs (no tracking URL in it): ${firstDifference(original, pieces[0])}`];
  if (!original.startsWith(pieces[0])) return [`text before the first tracking URL differs: ${firstDifference(original, pieces[0])}`];
  let at = pieces[0].length;
  for (let i = 1; i < pieces.length; i += 2) {
    const tracking = pieces[i];
    const after = pieces[i + 1];
    const last = i + 2 >= pieces.length;
    // Where the text after this URL starts in the original (a prefix locates it; then all of it must match).
    const probe = after.slice(0, 200);
    const end = probe === '' ? (last ? original.length : at) : original.indexOf(probe, at);
    if (end < 0) {
      problems.push(`text after tracking URL #${(i + 1) / 2} (${JSON.stringify(probe.slice(0, 80))}…) is not in the original after offset ${at}`);
      return problems;
    }
    const originalValue = original.slice(at, end);
    const dest = destinationOf(tracking);
    if (dest === undefined) problems.push(`tracking URL does not verify: ${tracking}`);
    else if (followedUrl(originalValue) !== dest) {
      problems.push(`the original value ${JSON.stringify(originalValue.slice(0, 200))} does not lead to the tracked destination ${JSON.stringify(dest)}`);
    }
    const expected = last ? original.slice(end) : original.slice(end, end + after.length);
    if (expected !== after) {
      problems.push(`text after tracking URL #${(i + 1) / 2} differs from the original: ${firstDifference(expected, after)}`);
      return problems;
    }
    at = end + after.length;
  }
  return problems;
}

/** The message's line ending: that of its first line. */
function messageEol(raw: Buffer): '\r\n' | '\n' {
  const lf = raw.indexOf(0x0a);
  return lf > 0 && raw[lf - 1] === 0x0d ? '\r\n' : lf < 0 ? '\r\n' : '\n';
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `first difference at ${i}: expected ${JSON.stringify(a.slice(Math.max(0, i - 40), i + 60))}, got ${JSON.stringify(b.slice(Math.max(0, i - 40), i + 60))}`;
}

// ---------------------------------------------------------------------------------------------
// One corpus case: input, output and both parsed.

interface Case {
  name: string;
  input: Buffer;
  result: RewriteResult;
  before: Parsed;
  after: Parsed;
  /** Set when the output could not be split. */
  splitError?: string;
}

function hasDkimSignature(parsed: Parsed): boolean {
  const root = parsed.nodes[0];
  return !!root && !!root.node.headers && root.node.headers.hasHeader('dkim-signature');
}

async function runCase(name: string, input: Buffer): Promise<Case> {
  const before = await parse(input);
  // DKIM-signed messages are checked like the others with signsAfterTracking (so that they are
  // really rewritten); their untracked pass-through is tested separately below.
  const result = await rewriteMessage(input, options(hasDkimSignature(before) ? { signsAfterTracking: true } : {}));
  try {
    const after = await parse(result.raw);
    return { name, input, result, before, after };
  } catch (error) {
    return { name, input, result, before, after: { raw: result.raw, items: [], nodes: [] }, splitError: (error as Error).message };
  }
}

function sameShape(c: Case): boolean {
  return c.before.nodes.length === c.after.nodes.length && shape(c.before).join('\n') === shape(c.after).join('\n');
}

/** Pairs of (input node, output node) whose bodies differ. */
function changedPairs(c: Case): [NodeItem, NodeItem][] {
  return c.before.nodes.map((n, i) => [n, c.after.nodes[i]] as [NodeItem, NodeItem]).filter(([a, b]) => b && !a.body.equals(b.body));
}

/** The (a)–(f) checks, each returning a list of problems (empty: fine). */
const checks = {
  /** (a) the output splits and has the same MIME tree. */
  shape(c: Case): string[] {
    if (c.splitError) return [`output does not split: ${c.splitError}`];
    const problems: string[] = [];
    if (c.after.nodes.length !== c.before.nodes.length) problems.push(`node count ${c.after.nodes.length}, expected ${c.before.nodes.length}`);
    const a = shape(c.before);
    const b = shape(c.after);
    for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) problems.push(`node ${i}: expected ${a[i]}, got ${b[i]}`);
    return problems;
  },

  /** (b) every tracking URL verifies to the destination listed at its index; the pixel verifies. */
  links(c: Case): string[] {
    const problems: string[] = [];
    const { links } = c.result;
    links.forEach((link, i) => {
      if (link.index !== i) problems.push(`result.links[${i}] has index ${link.index}`);
    });
    const seen = new Set<number>();
    let pixelParts = 0;
    for (const part of c.after.nodes.filter(isTextPart)) {
      const text = urlSearchText(part);
      for (const [url] of text.matchAll(TRACKING_URL)) {
        if (url.includes('/o/')) {
          const v = verifyPixel(keys, url);
          if (!v.ok) problems.push(`part ${part.index}: pixel URL does not verify (${v.reason}): ${url}`);
          else if (v.value.messageToken !== TOKEN || v.value.server !== SERVER) problems.push(`part ${part.index}: pixel for another message: ${url}`);
          continue;
        }
        const v = verifyLink(keys, url);
        if (!v.ok) {
          problems.push(`part ${part.index}: tracking URL does not verify (${v.reason}): ${url}`);
          continue;
        }
        const { linkIndex, url: dest, messageToken, server } = v.value;
        seen.add(linkIndex);
        if (messageToken !== TOKEN || server !== SERVER) problems.push(`part ${part.index}: tracking URL for another message/server: ${url}`);
        const listed = links[linkIndex];
        if (!listed) problems.push(`part ${part.index}: link index ${linkIndex} (${dest}) is not in result.links`);
        else if (listed.url !== dest) problems.push(`part ${part.index}: link index ${linkIndex} verifies to ${JSON.stringify(dest)} but result.links lists ${JSON.stringify(listed.url)}`);
      }
      const pixels = [...text.matchAll(PIXEL_IMG)].length;
      if (pixels > 1) problems.push(`part ${part.index}: ${pixels} open pixels`);
      if (pixels > 0) pixelParts++;
      if (pixels > 0 && typeOf(part) !== 'text/html') problems.push(`part ${part.index}: open pixel in a ${typeOf(part)} part`);
    }
    for (const link of links) if (!seen.has(link.index)) problems.push(`result.links[${link.index}] (${link.url}) appears nowhere in the output`);
    if (c.result.pixel !== pixelParts > 0) problems.push(`result.pixel is ${c.result.pixel} but ${pixelParts} part(s) carry an open pixel`);
    return problems;
  },

  /** (c) undoing the rewrite gives the original: text/plain exactly, HTML up to link values (and as a DOM). */
  roundTrip(c: Case): string[] {
    if (!sameShape(c)) return ['MIME tree differs (see the shape test)'];
    const problems: string[] = [];
    c.before.nodes.forEach((before, i) => {
      const after = c.after.nodes[i];
      if (!isTextPart(before)) return;
      const original = partText(before);
      const rewritten = partText(after);
      if (typeOf(before) === 'text/plain') {
        const restored = untrackText(rewritten);
        if (restored !== original) problems.push(`text/plain part ${i}: ${firstDifference(original, restored)}`);
        return;
      }
      const pixels = [...rewritten.matchAll(PIXEL_IMG)];
      // Opens are tracked: a rewritten HTML part carries exactly one pixel (the corpus has none of ours).
      if (!before.body.equals(after.body) && pixels.length !== 1) problems.push(`text/html part ${i} was rewritten but carries ${pixels.length} open pixels`);
      if (pixels.length > 0 && /<\/body\s*>/i.test(original)) {
        const followed = rewritten.slice(pixels[0].index! + pixels[0][0].length, pixels[0].index! + pixels[0][0].length + 6);
        if (followed.toLowerCase() !== '</body') problems.push(`text/html part ${i}: the open pixel is not right before </body> (followed by ${JSON.stringify(followed)})`);
      }
      const withoutPixel = rewritten.replace(PIXEL_IMG, '');
      for (const p of onlyLinkValuesChanged(original, withoutPixel)) problems.push(`text/html part ${i}: ${p}`);
      const restoredDom = domOf(untrackHtml(rewritten));
      const originalDom = domOf(original);
      if (restoredDom !== originalDom) problems.push(`text/html part ${i} as a DOM: ${firstDifference(originalDom, restoredDom)}`);
    });
    return problems;
  },

  /** (d) line lengths. */
  lines(c: Case): string[] {
    const problems: string[] = [];
    const inputLines = new Set(c.input.toString('latin1').split('\n').map((l) => l.replace(/\r$/, '')));
    c.result.raw
      .toString('latin1')
      .split('\n')
      .forEach((line, n) => {
        const l = line.replace(/\r$/, '');
        if (l.length > 998 && !inputLines.has(l)) problems.push(`output line ${n + 1} is ${l.length} octets and not an input line: ${JSON.stringify(l.slice(0, 100))}…`);
      });
    if (!sameShape(c)) return problems;
    const eol = messageEol(c.input);
    for (const [, after] of changedPairs(c)) {
      const encoding = transferEncoding(after);
      if (encoding === 'quoted-printable' || encoding === 'base64') {
        after.body
          .toString('latin1')
          .split('\n')
          .forEach((line, n) => {
            const l = line.replace(/\r$/, '');
            // Quoted-printable lines whose content did not change are kept exactly as the sender wrote them.
            if (l.length > 76 && !inputLines.has(l)) problems.push(`re-encoded ${encoding} part ${after.index}, body line ${n + 1}: ${l.length} characters`);
          });
      }
      if (encoding === '7bit' && after.body.some((b) => b > 0x7f)) problems.push(`rewritten part ${after.index} is labelled 7bit but holds 8-bit bytes`);
      // A rewritten body uses the message's own line ending; a lone CR or LF is not a line break in mail.
      const body = after.body.toString('latin1');
      const bareCr = body.search(/\r(?!\n)/);
      if (bareCr >= 0) problems.push(`rewritten part ${after.index} (${encoding}) holds a bare CR at offset ${bareCr}: ${JSON.stringify(body.slice(Math.max(0, bareCr - 40), bareCr + 40))}`);
      if (eol === '\r\n') {
        const bareLf = body.search(/(?<!\r)\n/);
        if (bareLf >= 0) problems.push(`rewritten part ${after.index} (${encoding}) holds a bare LF in a CRLF message at offset ${bareLf}: ${JSON.stringify(body.slice(Math.max(0, bareLf - 40), bareLf + 40))}`);
      }
    }
    return problems;
  },

  /** (e) every byte outside rewritten parts is identical. */
  untouchedBytes(c: Case): string[] {
    if (c.result.skipped) return c.result.raw.equals(c.input) ? [] : [`skipped (${c.result.skipped}) but the output differs from the input`];
    if (!sameShape(c)) return ['MIME tree differs (see the shape test)'];
    const problems: string[] = [];
    if (c.before.items.length !== c.after.items.length) problems.push(`${c.after.items.length} items (headers, bodies, multipart data), expected ${c.before.items.length}`);
    c.before.items.forEach((a, i) => {
      const b = c.after.items[i];
      if (!b || a.kind !== b.kind) {
        problems.push(`item ${i}: expected ${a.kind}, got ${b ? b.kind : 'nothing'}`);
        return;
      }
      if (a.kind === 'data' && b.kind === 'data') {
        if (!a.bytes.equals(b.bytes)) problems.push(`multipart data (preamble/boundary/epilogue) item ${i}: ${firstDifference(a.bytes.toString('latin1'), b.bytes.toString('latin1'))}`);
        return;
      }
      if (a.kind !== 'node' || b.kind !== 'node') return;
      if (a.body.equals(b.body)) {
        if (!a.header.equals(b.header)) problems.push(`node ${a.index} (${typeOf(a)}): body unchanged but header changed: ${firstDifference(a.header.toString('latin1'), b.header.toString('latin1'))}`);
        return;
      }
      if (!isTextPart(a)) problems.push(`node ${a.index} (${typeOf(a)}) is not a text part but its body changed`);
      if (a.header.equals(b.header)) return;
      // A rewritten part's header may only change its transfer encoding (7bit/8bit → QP) or charset.
      const ha = a.node.headers ? a.node.headers.getList() : [];
      const hb = b.node.headers ? b.node.headers.getList() : [];
      const others = (list: typeof ha) => list.filter((h) => h.key !== 'content-transfer-encoding' && h.key !== 'content-type').map((h) => h.line.toString());
      if (others(ha).join('\n') !== others(hb).join('\n')) problems.push(`node ${a.index}: header lines other than Content-Type/Content-Transfer-Encoding changed`);
      if (transferEncoding(a) !== transferEncoding(b) && !(['7bit', '8bit'].includes(transferEncoding(a)) && transferEncoding(b) === 'quoted-printable')) {
        problems.push(`node ${a.index}: transfer encoding went from ${transferEncoding(a)} to ${transferEncoding(b)}`);
      }
      if (typeOf(a) !== typeOf(b)) problems.push(`node ${a.index}: content type went from ${typeOf(a)} to ${typeOf(b)}`);
      if (charsetLabel(a) !== charsetLabel(b) && charsetLabel(b) !== 'utf-8') problems.push(`node ${a.index}: charset went from ${charsetLabel(a)} to ${charsetLabel(b)}`);
    });
    if (!problems.length && !c.result.raw.equals(Buffer.concat(c.after.items.map((it) => (it.kind === 'data' ? it.bytes : Buffer.concat([it.header, it.body])))))) {
      problems.push('the output is not the concatenation of its parsed items');
    }
    return problems;
  },

  /** (f) parts that must never change. */
  protectedParts(c: Case): string[] {
    if (!sameShape(c)) return ['MIME tree differs (see the shape test)'];
    const problems: string[] = [];
    for (const a of c.before.nodes) {
      const reasons: string[] = [];
      const disposition = (a.node.disposition || '').toString().toLowerCase();
      if (disposition === 'attachment') reasons.push('attachment');
      if (a.node.filename) reasons.push(`file ${JSON.stringify(a.node.filename)}`);
      if (typeOf(a) === 'text/calendar') reasons.push('text/calendar');
      if (typeOf(a) === 'application/pkcs7-mime' || typeOf(a) === 'application/x-pkcs7-mime') reasons.push('S/MIME');
      for (const p of ancestors(c.before, a)) {
        if (p.node.rfc822 || typeOf(p) === 'message/rfc822') reasons.push('inside message/rfc822');
        if (p.node.multipart === 'signed' || p.node.multipart === 'encrypted') reasons.push(`under multipart/${p.node.multipart}`);
      }
      if (a.node.multipart === 'signed' || a.node.multipart === 'encrypted') reasons.push(`multipart/${a.node.multipart}`);
      if (!reasons.length) continue;
      const b = c.after.nodes[a.index];
      if (!a.header.equals(b.header)) problems.push(`node ${a.index} (${typeOf(a)}; ${reasons.join(', ')}): header changed`);
      if (!a.body.equals(b.body)) problems.push(`node ${a.index} (${typeOf(a)}; ${reasons.join(', ')}): body changed`);
    }
    return problems;
  },
};

// ---------------------------------------------------------------------------------------------

const mode = corpusMode();
if (mode === 'skip') console.warn(`corpus tests SKIPPED: ${corpusMissingMessage()}`);
const d = mode === 'skip' ? describe.skip : describe;

if (mode === 'fail') {
  test('the corpus is present (CI always has it)', () => {
    throw new Error(`corpus tests cannot run under CI: ${corpusMissingMessage()}`);
  });
}

const emlFiles = listCorpus('eml');
const htmlFiles = listCorpus('html');

function describeCase(file: CorpusFile, load: () => Buffer, extra?: (get: () => Case) => void): void {
  describe(file.name, () => {
    let c: Case;
    const get = (): Case => c;
    beforeAll(async () => {
      c = await runCase(file.name, load());
    });
    test('(a) output splits with the same MIME tree', () => expect(checks.shape(c)).toEqual([]));
    test('(b) tracking URLs verify to the listed destinations', () => expect(checks.links(c)).toEqual([]));
    test('(c) undoing the tracking gives back the original text', () => expect(checks.roundTrip(c)).toEqual([]));
    test('(d) no new line over 998 octets; lines we encode at most 76', () => expect(checks.lines(c)).toEqual([]));
    test('(e) every byte outside rewritten parts is identical', () => expect(checks.untouchedBytes(c)).toEqual([]));
    test('(f) attachments, forwarded, calendar and signed content never change', () => expect(checks.protectedParts(c)).toEqual([]));
    extra?.(get);
  });
}

d('corpus', () => {
  if (mode !== 'run') {
    test.skip('corpus files (none available)', () => undefined);
    return;
  }

  test('the corpus holds eml and html files', () => {
    expect(emlFiles.length).toBeGreaterThan(0);
    expect(htmlFiles.length).toBeGreaterThan(0);
  });

  describe('eml', () => {
    for (const file of emlFiles) describeCase(file, () => readCorpusFile(file));
  });

  describe('html wrapped as a message', () => {
    for (const file of htmlFiles) {
      describeCase(
        file,
        () => wrapHtmlAsMessage(readCorpusFile(file), file.name),
        (get) => {
          test('is tracked: not skipped, one open pixel, the HTML part decodes to the file', () => {
            const c = get();
            expect(c.result.skipped).toBeUndefined();
            expect(c.result.pixel).toBe(true);
            expect(c.before.nodes).toHaveLength(1);
            expect(decodeTransfer(c.before.nodes[0]).equals(canonicalHtml(readCorpusFile(file)))).toBe(true);
            if (c.after.nodes.length === 1) expect([...urlSearchText(c.after.nodes[0]).matchAll(PIXEL_IMG)]).toHaveLength(1);
          });
        },
      );
    }
  });

  describe('DKIM', () => {
    const signedEml = emlFiles.filter((f) => /^DKIM-Signature:/im.test(headerBlock(readCorpusFile(f))));

    test('the corpus has DKIM-signed messages', () => expect(signedEml.length).toBeGreaterThan(0));

    for (const file of signedEml) {
      test(`${file.name}: left byte-identical, skipped as dkim-signed`, async () => {
        const input = readCorpusFile(file);
        const result = await rewriteMessage(input, options());
        expect(result.skipped).toMatch(/^dkim-signed/);
        expect(result.raw.equals(input)).toBe(true);
        expect(result.links).toEqual([]);
        expect(result.pixel).toBe(false);
      });

      test(`${file.name}: tracked when the platform signs after tracking`, async () => {
        const input = readCorpusFile(file);
        const result = await rewriteMessage(input, options({ signsAfterTracking: true }));
        expect(result.skipped).toBeUndefined();
        expect(result.raw.equals(input)).toBe(false);
        expect(result.links.length > 0 || result.pixel).toBe(true);
      });
    }

    for (const file of htmlFiles.slice(0, 3)) {
      test(`${file.name} with a DKIM-Signature header added: left byte-identical`, async () => {
        const input = Buffer.concat([
          Buffer.from('DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\r\n h=from:to:subject; bh=AAAA; b=BBBB\r\n', 'latin1'),
          wrapHtmlAsMessage(readCorpusFile(file), file.name),
        ]);
        const result = await rewriteMessage(input, options());
        expect(result.skipped).toMatch(/^dkim-signed/);
        expect(result.raw.equals(input)).toBe(true);
      });
    }
  });
});

/** The message's top-level header block (up to the first empty line). */
function headerBlock(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

/*
 * Deterministic fuzzing of the rewrite engine: mutated real messages (the corpus, when present)
 * and a few built-in messages (always). Whatever the input, rewriteMessage must settle quickly
 * without rejecting, its output must still split, a skipped message must come back byte for
 * byte, and a tracked one must keep its MIME tree.
 *
 * Every case is reproducible from its id (source, case number and the seed). The seed can be
 * changed with MAILBEACON_FUZZ_SEED to explore further; the default keeps CI deterministic.
 */
import { keyRing } from '@mailbeacon/links';
import { rewriteMessage, type RewriteResult } from '../src/rewrite-message';
import { splitMessage, type MessageChunk } from '../src/message-chunks';
import { corpusMissingMessage, corpusMode, listCorpus, readCorpusFile, wrapHtmlAsMessage } from '@mailbeacon/testing';

const SEED = Number(process.env.MAILBEACON_FUZZ_SEED ?? 20240102) >>> 0;
/** Per case: rewriting must settle (and be done) within this, or the case fails. */
const CASE_LIMIT_MS = 5000;
const CASES_PER_FIXTURE = 40;
const CASES_PER_CORPUS_MESSAGE = 6;

const keys = keyRing('fuzz-test-secret-0123456789abcdef');

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and seed derivation (FNV-1a), no Math.random anywhere.

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** 0 <= n < max */
  int(max: number): number {
    return max <= 0 ? 0 : Math.floor(this.next() * max);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations. Messages are handled as latin1 strings (one char per byte, exact).

interface Mutation {
  raw: Buffer;
  what: string;
}

type Mutator = (text: string, rng: Rng) => { text: string; what: string };

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Lines with their line endings, so joining them gives the text back. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function eolOf(text: string): string {
  const lf = text.indexOf('\n');
  return lf > 0 && text[lf - 1] === '\r' ? '\r\n' : '\n';
}

function randomBytes(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(rng.int(256));
  return s;
}

function randomPrintable(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(0x20 + rng.int(0x5f));
  return s;
}

const FRAGMENTS = [
  '<a href=',
  '<a href="',
  '<a href="http://',
  '<a href="https://shop.example/x?a=1&amp;b=2">x</a>',
  "<a href='http://q.example/'>",
  '<A HREF=http://up.example/ >',
  'http://',
  'https://',
  'http://example.org/path?q=1',
  'https+notrack://n.example/',
  'http://[',
  'http://%zz',
  'http://.',
  '=',
  '=\r\n',
  '=\n',
  '=3D',
  '=0D',
  '=0A',
  '=ZZ',
  '--',
  '\r\n--',
  '\n--\n',
  '</body>',
  '</BODY></html>',
  '<body>',
  '<!--',
  '-->',
  '<!--[if mso]><a href="http://mso.example/">',
  '<![endif]-->',
  '<img src="https://click.example.com/o/x/y/z/w">',
  '&#',
  '&amp',
  '"',
  "'",
  '<',
  '>',
  '\r',
  '\n',
  '\x00',
  '\xff\xfe',
  '\r\n\r\n',
];

const HEADER_GARBAGE = [
  'Content-Type: multipart/mixed; boundary=""',
  'Content-Type: multipart/alternative',
  'Content-Type: text/html; charset=utf-16',
  'Content-Type: text/html; charset="unknown-8bit"',
  'Content-Type: text/plain; charset=iso-2022-jp',
  'Content-Type: message/rfc822',
  'Content-Type: multipart/signed; boundary=zz',
  'Content-Transfer-Encoding: base64',
  'Content-Transfer-Encoding: quoted-printable',
  'Content-Transfer-Encoding: x-uuencode',
  'Content-Transfer-Encoding:',
  'Content-Disposition: attachment; filename="a.html"',
  'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; b=AAAA',
  'X-AMP: skip',
  'MIME-Version: 1.0 (garbage)',
  ' folded continuation with no header before it',
  ':no-name',
  'no colon at all',
  'X-Long: ' + 'y'.repeat(5000),
  'Content-Type: text/html; boundary="--"; charset=utf-8; charset=latin1',
];

const HUGE_PATTERNS = ['a', 'http://e.example/', '<a href="http://e.example/">x</a>', '=', '-', '<', ' ', '=3D', 'https://h.example/?q=' ];

/** Top-level header block end, or -1. */
function headerEnd(text: string): number {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? m.index : -1;
}

const mutators: Record<string, Mutator> = {
  byteFlips(text, rng) {
    if (!text.length) return { text: 'x', what: 'byte flips on an empty message' };
    const out = text.split('');
    const positions: number[] = [];
    const count = rng.between(1, 8);
    for (let i = 0; i < count; i++) {
      const at = rng.int(out.length);
      positions.push(at);
      out[at] = String.fromCharCode(out[at].charCodeAt(0) ^ rng.between(1, 255));
    }
    return { text: out.join(''), what: `byte flips at ${positions.join(',')}` };
  },

  truncate(text, rng) {
    const at = rng.int(text.length + 1);
    return { text: text.slice(0, at), what: `truncated at ${at} of ${text.length}` };
  },

  duplicateLines(text, rng) {
    const lines = linesOf(text);
    if (!lines.length) return { text, what: 'duplicate lines (none)' };
    const at = rng.int(lines.length);
    const n = rng.between(1, 3);
    const times = rng.between(1, 4);
    const block = lines.slice(at, at + n).join('');
    lines.splice(at, 0, block.repeat(times));
    return { text: lines.join(''), what: `lines ${at}..${at + n - 1} duplicated ${times}x` };
  },

  deleteLines(text, rng) {
    const lines = linesOf(text);
    if (!lines.length) return { text, what: 'delete lines (none)' };
    const at = rng.int(lines.length);
    const n = rng.between(1, 3);
    lines.splice(at, n);
    return { text: lines.join(''), what: `lines ${at}..${at + n - 1} deleted` };
  },

  corruptBoundary(text, rng) {
    const lines = linesOf(text);
    const delimiters = lines.map((l, i) => (l.startsWith('--') ? i : -1)).filter((i) => i >= 0);
    if (!delimiters.length) {
      const m = /boundary=/i.exec(text);
      if (!m) return mutators.insertFragments(text, rng);
      return { text: text.slice(0, m.index) + 'boundary=x' + text.slice(m.index + m[0].length), what: 'boundary parameter changed' };
    }
    const i = rng.pick(delimiters);
    const line = lines[i];
    const body = line.replace(/\r?\n$/, '');
    const eol = line.slice(body.length);
    const variant = rng.int(7);
    let what: string;
    switch (variant) {
      case 0:
        lines.splice(i, 1);
        what = 'removed';
        break;
      case 1:
        lines.splice(i, 0, line);
        what = 'duplicated';
        break;
      case 2:
        lines[i] = (body.endsWith('--') ? body.slice(0, -2) : body + '--') + eol;
        what = 'closing -- toggled';
        break;
      case 3: {
        const at = rng.between(2, Math.max(2, body.length - 1));
        lines[i] = body.slice(0, at) + String.fromCharCode(0x21 + rng.int(0x5e)) + body.slice(at + 1) + eol;
        what = `char ${at} changed`;
        break;
      }
      case 4:
        lines[i] = body + '   \t' + eol;
        what = 'trailing whitespace added';
        break;
      case 5:
        lines[i] = body.slice(0, Math.max(2, body.length >> 1)) + eol;
        what = 'cut in half';
        break;
      default:
        lines[i] = body + eol + body.slice(0, 2) + randomBytes(rng, rng.between(0, 30)) + eol;
        what = 'garbage delimiter-like line added after it';
    }
    return { text: lines.join(''), what: `boundary line ${i} ${what}` };
  },

  headerGarbage(text, rng) {
    const eol = eolOf(text);
    const garbage = rng.chance(0.25) ? randomBytes(rng, rng.between(1, 200)).replace(/[\r\n]/g, '') : rng.pick(HEADER_GARBAGE);
    const end = headerEnd(text);
    let at: number;
    if (end >= 0 && rng.chance(0.6)) {
      // Somewhere in the top-level header block.
      const starts = lineStarts(text).filter((s) => s <= end);
      at = rng.pick(starts);
    } else {
      // At any line start (likely inside some part's header or body).
      at = rng.pick(lineStarts(text));
    }
    return { text: text.slice(0, at) + garbage + eol + text.slice(at), what: `header garbage at ${at}: ${JSON.stringify(garbage.slice(0, 60))}` };
  },

  insertFragments(text, rng) {
    const count = rng.between(1, 10);
    let out = text;
    const done: string[] = [];
    for (let i = 0; i < count; i++) {
      const at = rng.int(out.length + 1);
      const fragment = rng.pick(FRAGMENTS);
      out = out.slice(0, at) + fragment + out.slice(at);
      done.push(`${JSON.stringify(fragment)}@${at}`);
    }
    return { text: out, what: `inserted ${done.join(' ')}` };
  },

  hugeLine(text, rng) {
    const length = rng.pick([999, 5000, 100_000, 1_000_000, 2_500_000]);
    const pattern = rng.chance(0.2) ? randomPrintable(rng, rng.between(1, 40)) : rng.pick(HUGE_PATTERNS);
    const line = pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length);
    const starts = lineStarts(text);
    const at = rng.pick(starts);
    const eol = eolOf(text);
    return { text: text.slice(0, at) + line + eol + text.slice(at), what: `line of ${length} × ${JSON.stringify(pattern.slice(0, 40))} at ${at}` };
  },
};

const KINDS = Object.keys(mutators);

function mutate(source: Buffer, rng: Rng, kind: string): Mutation {
  let text = source.toString('latin1');
  const steps: string[] = [];
  if (kind === 'stacked') {
    const n = rng.between(2, 4);
    for (let i = 0; i < n; i++) {
      const k = rng.pick(KINDS);
      const r = mutators[k](text, rng);
      text = r.text;
      steps.push(`${k}: ${r.what}`);
    }
  } else {
    const r = mutators[kind](text, rng);
    text = r.text;
    steps.push(`${kind}: ${r.what}`);
  }
  return { raw: bytes(text), what: steps.join(' ; ') };
}

// ---------------------------------------------------------------------------------------------
// Running one case under a time guard.

type Settled<T> = { ok: true; value: T; ms: number } | { ok: false; error: string; ms: number };

async function guarded<T>(run: () => Promise<T>, limitMs: number): Promise<Settled<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limitMs);
  });
  try {
    const outcome = await Promise.race([run().then((value) => ({ value })), timeout]);
    const ms = performance.now() - started;
    if (outcome === 'timeout') return { ok: false, error: `did not settle within ${limitMs} ms`, ms };
    // A synchronous hog resolves before the timer gets to run: measure too.
    if (ms > limitMs) return { ok: false, error: `took ${Math.round(ms)} ms (limit ${limitMs} ms)`, ms };
    return { ok: true, value: outcome.value, ms };
  } catch (error) {
    return { ok: false, error: `rejected: ${(error as Error)?.stack ?? String(error)}`, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

function treeOf(chunks: MessageChunk[]): string[] {
  return chunks.filter((c): c is Extract<MessageChunk, { type: 'node' }> => c.type === 'node').map((c) => `${(c.node.contentType || '(none)').toString().toLowerCase()}${c.node.multipart ? '*' : ''}`);
}

/**
 * The input with every top-level X-AMP header field (and its folded lines) removed: what the
 * engine documents for `X-AMP: skip` — the message is left untracked and only that header goes.
 */
function withoutXAmpHeader(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const end = headerEnd(text);
  const head = end < 0 ? text : text.slice(0, end + (text[end] === '\r' ? 2 : 1));
  const kept: string[] = [];
  let dropping = false;
  for (const line of linesOf(head)) {
    const continuation = /^[ \t]/.test(line);
    if (!continuation) dropping = /^x-amp\s*:/i.test(line);
    if (!dropping) kept.push(line);
  }
  return bytes(kept.join('') + text.slice(head.length));
}

async function checkCase(raw: Buffer, rng: Rng): Promise<string[]> {
  const problems: string[] = [];
  const opts = { trackingDomain: 'click.example.com', server: 'fz', keys, messageToken: 'FuzzMessageToken000001', trackClicks: true, trackOpens: true, signsAfterTracking: rng.chance(0.5) };
  const input = Buffer.from(raw); // the engine must not depend on (or touch) the caller's buffer
  const before = await guarded(() => splitMessage(input), CASE_LIMIT_MS);
  const rewritten = await guarded<RewriteResult>(() => rewriteMessage(raw, opts), CASE_LIMIT_MS);
  if (!rewritten.ok) return [`rewriteMessage ${rewritten.error}`];
  const result = rewritten.value;
  if (!raw.equals(input)) problems.push('the input buffer was modified');
  if (!Buffer.isBuffer(result.raw)) return [...problems, 'result.raw is not a Buffer'];

  if (result.skipped !== undefined) {
    // Untracked: the input itself, byte for byte. The one documented exception is X-AMP: skip,
    // where exactly that header is removed (see the report accompanying this test).
    const expected = result.skipped.startsWith('x-amp-skip') ? withoutXAmpHeader(input) : input;
    if (!result.raw.equals(expected)) {
      problems.push(`skipped (${result.skipped}) but the output differs from the input${expected === input ? '' : ' minus its X-AMP header'}: ${firstDifference(expected, result.raw)}`);
    }
  }
  if (!before.ok) {
    // mailsplit itself cannot read the input: the engine can only pass it through.
    if (result.skipped === undefined) problems.push(`the input does not split (${before.error.split('\n')[0]}) yet it was not skipped`);
    return problems;
  }
  const after = await guarded(() => splitMessage(result.raw), CASE_LIMIT_MS);
  if (!after.ok) return [...problems, `the input splits but the output does not split with mailsplit: ${after.error}`];
  if (result.skipped !== undefined) return problems;
  const a = treeOf(before.value);
  const b = treeOf(after.value);
  if (a.join('|') !== b.join('|')) problems.push(`tracked (${result.links.length} links, pixel ${result.pixel}) but the MIME tree changed: ${a.join(' ')}  →  ${b.join(' ')}`);
  return problems;
}

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (x: Buffer) => JSON.stringify(x.subarray(Math.max(0, i - 30), i + 50).toString('latin1'));
  return `at byte ${i}: expected ${show(a)}, got ${show(b)}`;
}

interface Source {
  name: string;
  load: () => Buffer;
}

function fuzzSource(source: Source, cases: number, salt: number): void {
  test(`${source.name}: ${cases} mutations`, async () => {
    const original = source.load();
    const failures: string[] = [];
    for (let i = 0; i < cases; i++) {
      const id = `${source.name}#${i} (seed ${SEED})`;
      const rng = new Rng(fnv1a(`${SEED}:${source.name}:${i}`));
      const kind = i % (KINDS.length + 1) === KINDS.length ? 'stacked' : KINDS[(i + salt) % KINDS.length];
      const mutation = mutate(original, rng, kind);
      const problems = await checkCase(mutation.raw, rng);
      for (const p of problems) failures.push(`${id} [${mutation.what.slice(0, 300)}] (${mutation.raw.length} bytes): ${p}`);
    }
    expect(failures).toEqual([]);
  }, cases * (2 * CASE_LIMIT_MS + 1000) + 10_000);
}

// ---------------------------------------------------------------------------------------------
// Built-in messages: the fuzz test always runs something, corpus or not.

const CRLF = (s: string): string => s.replace(/\r?\n/g, '\r\n');

const FIXTURES: Source[] = [
  {
    name: 'fixture-mixed-alternative-qp-crlf',
    load: () =>
      bytes(
        CRLF(`From: Sender <news@example.com>
To: reader@example.net
Subject: Fixture one
Date: Tue, 02 Jan 2024 10:00:00 +0000
Message-ID: <one@fixture.mailbeacon.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-1"

This is a multi-part message in MIME format.
--mixed-1
Content-Type: multipart/alternative; boundary="alt-1"

--alt-1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Hello, see https://shop.example/sale?x=1&y=2. And (http://shop.example/paren).
Unsubscribe: https://shop.example/unsubscribe
--alt-1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<!DOCTYPE html><html><head><meta charset=3D"utf-8"></head><body>
<p>Hello <a href=3D"https://shop.example/sale?x=3D1&amp;y=3D2">sale</a> =E2=80=94 <a
 href=3D" http://shop.example/paren ">more</a></p>
<!--[if mso]><v:roundrect href=3D"https://shop.example/button">x</v:roundrect><![endif]-->
<p><a href=3D"mailto:help@shop.example">mail</a> <a href=3D"#top">top</a> <a href=3D"https+notrack://shop=
.example/raw">raw</a></p>
</body></html>
--alt-1--
--mixed-1
Content-Type: application/pdf; name="terms.pdf"
Content-Disposition: attachment; filename="terms.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKaHR0cDovL3Nob3AuZXhhbXBsZS9pbi1wZGYK
--mixed-1--
epilogue
`),
      ),
  },
  {
    name: 'fixture-html-8bit-latin1-lf',
    load: () =>
      Buffer.concat([
        bytes(`From: news@example.com
To: reader@example.net
Subject: Fixture two
MIME-Version: 1.0
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

<html><body><p>Caf\xe9 cr\xe8me <a href="http://caf\xe9.example/men\xfc">men\xfc</a>
<a href=http://plain.example/unquoted>u</a> <area href="https://map.example/a">
<a href="https://click.example.com/c/already">tracked?</a></p></body></html>
`),
      ]),
  },
  {
    name: 'fixture-related-base64-rfc822',
    load: () =>
      bytes(
        CRLF(`From: Sender <news@example.com>
To: reader@example.net
Subject: Fixture three
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

${Buffer.from('<html><body><a href="https://b64.example/one">one</a><img src="cid:logo"></body></html>\r\n', 'utf8')
  .toString('base64')
  .replace(/(.{76})/g, '$1\n')}
--rel
Content-Type: image/png
Content-ID: <logo>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
--rel--
--outer
Content-Type: message/rfc822

From: someone@else.example
Subject: forwarded
Content-Type: text/plain

Forwarded https://fwd.example/never-tracked
--outer
Content-Type: text/calendar; method=REQUEST; charset=utf-8

BEGIN:VCALENDAR
URL:https://cal.example/event
END:VCALENDAR
--outer--
`),
      ),
  },
];

describe('fuzz: built-in messages', () => {
  FIXTURES.forEach((fixture, n) => fuzzSource(fixture, CASES_PER_FIXTURE, n * 3));
});

// ---------------------------------------------------------------------------------------------
// Corpus messages.

const mode = corpusMode();
if (mode === 'skip') console.warn(`corpus tests SKIPPED: ${corpusMissingMessage()}`);
const d = mode === 'skip' ? describe.skip : describe;

if (mode === 'fail') {
  test('the corpus is present (CI always has it)', () => {
    throw new Error(`corpus fuzz tests cannot run under CI: ${corpusMissingMessage()}`);
  });
}

d('fuzz: corpus messages', () => {
  if (mode !== 'run') {
    test.skip('corpus messages (none available)', () => undefined);
    return;
  }
  const sources: Source[] = [
    ...listCorpus('eml').map((file) => ({ name: file.name, load: () => readCorpusFile(file) })),
    ...listCorpus('html').map((file) => ({ name: file.name, load: () => wrapHtmlAsMessage(readCorpusFile(file), file.name) })),
  ];
  test('the corpus has messages to mutate', () => expect(sources.length).toBeGreaterThan(0));
  sources.forEach((source, n) => fuzzSource(source, CASES_PER_CORPUS_MESSAGE, n));
});

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as libqp from 'libqp';

/*
 * The third-party mail corpus lives outside the repository (it is not ours to commit).
 * Its location is a setting: MAILBEACON_CORPUS, by default ../shared/corpus next to the repo.
 */

/** The monorepo root (this file is packages/testing/src/corpus.ts, or its build in dist/). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

export type CorpusKind = 'eml' | 'html';

export interface CorpusFile {
  /** File name, e.g. `cerberus-responsive.html`. */
  name: string;
  /** Absolute path. */
  path: string;
}

export function corpusDir(): string {
  const configured = process.env.MAILBEACON_CORPUS;
  return configured && configured.trim() !== '' ? path.resolve(configured.trim()) : path.resolve(repoRoot, '..', 'shared', 'corpus');
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when the corpus directory exists and holds at least one of eml/ and html/. */
export function corpusAvailable(): boolean {
  const dir = corpusDir();
  return isDirectory(path.join(dir, 'eml')) || isDirectory(path.join(dir, 'html'));
}

/** The corpus files of one kind, sorted by name; [] when that directory is absent. */
export function listCorpus(kind: CorpusKind): CorpusFile[] {
  const dir = path.join(corpusDir(), kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.toLowerCase().endsWith(`.${kind}`))
    .sort()
    .map((name) => ({ name, path: path.join(dir, name) }))
    .filter((file) => statSync(file.path).isFile());
}

export function readCorpusFile(file: CorpusFile): Buffer {
  return readFileSync(file.path);
}

/** Text line breaks as CRLF (RFC 5322 canonical form); bytes otherwise untouched. */
export function toCrlf(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** The HTML exactly as wrapHtmlAsMessage carries it: CRLF line breaks, ending with one. */
export function canonicalHtml(html: Buffer): Buffer {
  const crlf = toCrlf(html);
  return crlf.length === 0 || crlf.subarray(-2).toString('latin1') === '\r\n' ? crlf : Buffer.concat([crlf, Buffer.from('\r\n')]);
}

/**
 * A realistic single-part HTML message around an HTML document, as a typical sending library
 * builds it: CRLF line breaks, the usual headers, the HTML in quoted-printable. The HTML's own
 * line breaks become CRLF (canonical text) and it ends with one (see canonicalHtml); its bytes
 * are otherwise kept as they are, so a document that is not valid UTF-8 stays so (and the
 * engine must cope).
 */
export function wrapHtmlAsMessage(html: Buffer, name: string): Buffer {
  const slug = name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'message';
  const headers = [
    'From: "Corpus Sender" <sender@example.com>',
    'To: "Corpus Reader" <reader@example.net>',
    `Subject: Corpus ${slug}`,
    'Date: Tue, 02 Jan 2024 10:00:00 +0000',
    `Message-ID: <${slug}@corpus.mailbeacon.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
  ];
  const body = libqp.wrap(libqp.encode(canonicalHtml(html)), 76);
  return Buffer.concat([Buffer.from(headers.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(body, 'latin1')]);
}

/**
 * Decides how corpus suites run: normally (corpus present), skipped with a clear warning
 * (absent, local run) or failing (absent under CI, which always has it).
 */
export function corpusMode(): 'run' | 'skip' | 'fail' {
  if (corpusAvailable()) return 'run';
  const ci = (process.env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== 'false' && ci !== '0' ? 'fail' : 'skip';
}

export function corpusMissingMessage(): string {
  return `no corpus at ${corpusDir()} (set MAILBEACON_CORPUS)`;
}

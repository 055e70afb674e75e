'use strict';
/*
 * Shared corpus loading for the benchmarks.
 *
 * The corpus is read where it lies (never copied into the project):
 *   $MAILBEACON_CORPUS, or ../../shared/corpus relative to this file (i.e. ../shared/corpus
 *   from the project root), with eml/*.eml (real messages) and html/*.html (templates).
 *
 * A "workload" is the list of messages a benchmark feeds the rewriter: every eml file as it
 * is, plus every html file wrapped as a single-part quoted-printable text/html message.
 */
const fs = require('node:fs');
const path = require('node:path');
const libqp = require('libqp');
const libbase64 = require('libbase64');
const iconv = require('iconv-lite');
const { Splitter } = require('@zone-eu/mailsplit');
// The corpus location and the message wrapping are the conformance tests' own (built package).
const { corpusDir, wrapHtmlAsMessage, canonicalHtml } = require('@mailbeacon/testing');

class CorpusError extends Error {}

function listFiles(dir, ext) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    throw new CorpusError(`corpus folder ${dir} cannot be read (${error.code || error.message}); set MAILBEACON_CORPUS to the corpus (the folder holding eml/ and html/)`);
  }
  const files = names.filter((name) => name.endsWith(ext)).sort();
  if (files.length === 0) throw new CorpusError(`no *${ext} files in ${dir}; set MAILBEACON_CORPUS to the corpus (the folder holding eml/ and html/)`);
  return files;
}

/** Every eml file as raw bytes and every html file as a UTF-8 string, sorted by name. */
function loadCorpus(dir = corpusDir()) {
  const emlDir = path.join(dir, 'eml');
  const htmlDir = path.join(dir, 'html');
  return {
    dir,
    eml: listFiles(emlDir, '.eml').map((name) => ({ name, raw: fs.readFileSync(path.join(emlDir, name)) })),
    html: listFiles(htmlDir, '.html').map((name) => ({ name, html: fs.readFileSync(path.join(htmlDir, name), 'utf8') })),
  };
}

/**
 * An HTML document as a message, exactly as the conformance tests wrap it (CRLF headers,
 * quoted-printable UTF-8 body); `html` is the text a reader of the message decodes.
 */
function wrapHtml(name, source) {
  const bytes = Buffer.from(source, 'utf8');
  return { raw: wrapHtmlAsMessage(bytes, name), html: canonicalHtml(bytes).toString('utf8') };
}

/** The message as mailsplit cuts it: MIME nodes in order, with each node's body bytes. */
function splitParts(raw) {
  return new Promise((resolve, reject) => {
    const splitter = new Splitter();
    const nodes = [];
    const bodies = new Map();
    splitter.on('data', (data) => {
      if (data.type === 'node') nodes.push(data);
      else if (data.type === 'body') {
        const list = bodies.get(data.node);
        if (list) list.push(data.value);
        else bodies.set(data.node, [data.value]);
      }
    });
    splitter.on('error', reject);
    splitter.on('end', () => resolve(nodes.map((node) => ({ node, body: Buffer.concat(bodies.get(node) || []) }))));
    splitter.end(raw);
  });
}

/**
 * Whether a reader sees this part as the message's HTML: a text/html body that is not a
 * file and not inside a forwarded (message/rfc822), signed or encrypted part. Mirrors what
 * the rewrite engine reads, so a baseline built from these parts parses the same HTML.
 */
function isReadableHtml(node) {
  if (node.multipart || node.disposition === 'attachment' || node.filename) return false;
  if ((node.contentType || '').toLowerCase() !== 'text/html') return false;
  for (let parent = node.parentNode; parent; parent = parent.parentNode) {
    if (parent.rfc822 || parent.multipart === 'signed' || parent.multipart === 'encrypted') return false;
  }
  return true;
}

function decodeTransfer(body, encoding) {
  switch ((encoding || '').trim().toLowerCase()) {
    case 'quoted-printable':
      return libqp.decode(body);
    case 'base64':
      return libbase64.decode(body.toString('latin1'));
    default:
      return body;
  }
}

/** Bytes to text as a reader would: the declared charset when it decodes them, else one char per byte. */
function decodeCharset(bytes, charset) {
  const label = String(charset || 'us-ascii').trim().toLowerCase().replace(/^"|"$/g, '');
  if (label === 'utf-8' || label === 'utf8') {
    const text = bytes.toString('utf8');
    return Buffer.byteLength(text, 'utf8') === bytes.length ? text : bytes.toString('latin1');
  }
  for (const name of [label, label.replace(/^x-/, '')]) {
    if (iconv.encodingExists(name)) return iconv.decode(bytes, name, { stripBOM: false });
  }
  return bytes.toString('latin1');
}

/** The decoded text of every readable text/html part of a raw message, in order. */
async function htmlPartsOf(raw) {
  const parts = await splitParts(raw);
  return parts.filter(({ node }) => isReadableHtml(node)).map(({ node, body }) => decodeCharset(decodeTransfer(body, node.encoding), node.charset));
}

/**
 * The benchmark workload: [{ name, raw, html: string[] }], eml files first, then the wrapped
 * html files. `html` holds the HTML documents the message contains (decoded text).
 */
async function loadWorkload(dir = corpusDir()) {
  const corpus = loadCorpus(dir);
  const messages = [];
  for (const { name, raw } of corpus.eml) messages.push({ name: `eml/${name}`, raw, html: await htmlPartsOf(raw) });
  for (const { name, html } of corpus.html) {
    const wrapped = wrapHtml(name, html);
    messages.push({ name: `html/${name}`, raw: wrapped.raw, html: [wrapped.html] });
  }
  return { dir: corpus.dir, messages };
}

/** The corpus folder, checked to hold the corpus: `fail(message)` is called when it does not. */
function checkedCorpusDir(fail) {
  const dir = corpusDir();
  try {
    loadCorpus(dir);
  } catch (error) {
    if (error instanceof CorpusError) fail(error.message);
    throw error;
  }
  return dir;
}

module.exports = { CorpusError, checkedCorpusDir, corpusDir, loadCorpus, loadWorkload, wrapHtml, splitParts, htmlPartsOf, isReadableHtml };

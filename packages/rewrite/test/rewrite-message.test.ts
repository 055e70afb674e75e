import iconv from 'iconv-lite';
import * as libqp from 'libqp';
import * as libbase64 from 'libbase64';
import { rewriteMessage } from '../src/rewrite-message';
import { splitMessage } from '../src/message-chunks';
import { MAX_TRACKING_URL_LENGTH } from '@mailbeacon/links';
import { largestFitting } from '@mailbeacon/testing';
import { BASE_HEADERS, TOKEN, message, options, pixelsIn, trackedIn, untrack } from './fixtures';

const rewrite = (raw: Buffer, overrides = {}) => rewriteMessage(raw, options(overrides));
const text = (buf: Buffer) => buf.toString('latin1');

/** The decoded body text of each leaf part, in order. */
async function partTexts(raw: Buffer, charset = 'utf-8'): Promise<string[]> {
  const chunks = await splitMessage(raw);
  const bodies = new Map<unknown, Buffer[]>();
  const order: unknown[] = [];
  for (const c of chunks) {
    if (c.type === 'node' && !c.node.multipart) order.push(c.node), bodies.set(c.node, []);
    if (c.type === 'body') bodies.get(c.node)?.push(c.value);
  }
  return order.map((node) => {
    const n = node as { encoding: string | false };
    const body = Buffer.concat(bodies.get(node) ?? []);
    const bytes = n.encoding === 'base64' ? libbase64.decode(body.toString('latin1')) : n.encoding === 'quoted-printable' ? libqp.decode(body) : body;
    return iconv.decode(bytes, charset);
  });
}

const multipart = (boundary: string, parts: string[], preamble = 'This is a multi-part message in MIME format.') =>
  `${preamble}\r\n` + parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + `--${boundary}--\r\nepilogue\r\n`;

describe('rewriteMessage: which parts', () => {
  const html = '<html><body><a href="https://shop.example/a">a</a></body></html>';
  const nested = message(
    [...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="mixed"'],
    multipart('mixed', [
      'Content-Type: multipart/related; boundary="rel"\r\n\r\n' +
        multipart('rel', [
          'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n' +
            multipart('alt', ['Content-Type: text/plain; charset=utf-8\r\n\r\nText https://shop.example/t', `Content-Type: text/html; charset=utf-8\r\n\r\n${html}`], ''),
          'Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <i1>\r\n\r\niVBORw0KGgo=',
        ], ''),
      'Content-Type: text/html; charset=utf-8\r\nContent-Disposition: attachment; filename="page.html"\r\n\r\n<a href="https://shop.example/attached">x</a>',
      'Content-Type: text/plain; name="notes.txt"\r\nContent-Disposition: inline; filename="notes.txt"\r\n\r\nhttps://shop.example/file',
      'Content-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nURL:https://shop.example/cal\r\nEND:VCALENDAR',
      'Content-Type: message/rfc822\r\n\r\n' + 'From: a@b.example\r\nContent-Type: text/html\r\n\r\n<a href="https://shop.example/forwarded">f</a><body></body>',
    ]),
  );

  test('text/html and text/plain are tracked wherever they sit in the tree', async () => {
    const result = await rewrite(nested);
    expect(result.skipped).toBeUndefined();
    expect(result.links).toEqual([
      { index: 0, url: 'https://shop.example/t' },
      { index: 1, url: 'https://shop.example/a' },
    ]);
    expect(result.pixel).toBe(true);
    expect(pixelsIn(text(result.raw))).toHaveLength(1);
  });

  test('attachments, files, text/calendar and forwarded messages are left byte-identical', async () => {
    const out = text((await rewrite(nested)).raw);
    for (const untouched of ['<a href="https://shop.example/attached">x</a>', 'https://shop.example/file', 'URL:https://shop.example/cal', '<a href="https://shop.example/forwarded">f</a><body></body>']) {
      expect(out).toContain(untouched);
    }
  });

  test('every byte outside the rewritten parts is identical: headers, boundaries, preamble, epilogue, other parts', async () => {
    const result = await rewrite(nested);
    const restored = untrack(text(result.raw)).replace(/<img src="https:\/\/click\.example\.com\/o\/[^>]*>/, '');
    expect(restored).toBe(text(nested));
  });

  test('content under multipart/signed is untouched; a signed top level skips the message', async () => {
    const signed = message(
      [...BASE_HEADERS, 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"'],
      multipart('s', ['Content-Type: text/plain\r\n\r\nhttps://shop.example/signed', 'Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA']),
    );
    const result = await rewrite(signed);
    expect(result.raw.equals(signed)).toBe(true);
    expect(result.skipped).toMatch(/^signed:/);

    const inner = message(
      [...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="m"'],
      multipart('m', [
        'Content-Type: text/plain\r\n\r\nhttps://shop.example/outside',
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"\r\n\r\n' +
          multipart('e', ['Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1', 'Content-Type: text/plain\r\n\r\nhttps://shop.example/inside'], ''),
      ]),
    );
    const partly = await rewrite(inner);
    expect(partly.links.map((l) => l.url)).toEqual(['https://shop.example/outside']);
    expect(text(partly.raw)).toContain('\r\n\r\nhttps://shop.example/inside');
  });

  test('a message without any MIME headers is a text/plain body', async () => {
    const raw = Buffer.from('From: a@example.com\r\nSubject: plain\r\n\r\nGo to https://shop.example/p now.\r\n');
    const result = await rewrite(raw);
    expect(text(result.raw)).toBe(text(raw).replace('https://shop.example/p', trackedIn(text(result.raw))[0].tracking));
  });
});

describe('rewriteMessage: encodings and charsets', () => {
  test('quoted-printable HTML is decoded, rewritten and re-encoded with lines of at most 76', async () => {
    const html = `<html><body><p>${'Caf\u00e9 '.repeat(40)}</p><a href=3D"https://shop.example/?a=3D1&amp;b=3D2">x</a></body></html>`;
    const raw = message([...BASE_HEADERS, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'], libqp.wrap(libqp.encode(Buffer.from(html.replace(/=3D/g, '='), 'utf8')), 76) + '\r\n');
    const result = await rewrite(raw);
    expect(result.links).toEqual([{ index: 0, url: 'https://shop.example/?a=1&b=2' }]);
    const out = text(result.raw);
    const body = out.slice(out.indexOf('\r\n\r\n') + 4);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    const [decoded] = await partTexts(result.raw);
    expect(decoded).toContain('Caf\u00e9 Caf\u00e9');
    expect(out.slice(0, out.indexOf('\r\n\r\n'))).toBe(text(raw).slice(0, text(raw).indexOf('\r\n\r\n'))); // headers unchanged
  });

  test('base64 parts stay base64 with 76-character lines', async () => {
    const html = `<body>${'<p>Hello there</p>'.repeat(30)}<a href="https://shop.example/b64">x</a></body>`;
    const raw = message([...BASE_HEADERS, 'Content-Type: text/html; charset=UTF-8', 'Content-Transfer-Encoding: base64'], libbase64.wrap(libbase64.encode(html), 76) + '\r\n');
    const result = await rewrite(raw);
    const out = text(result.raw);
    const body = out.slice(out.indexOf('\r\n\r\n') + 4);
    expect(body).toMatch(/^([A-Za-z0-9+/=]{1,76}\r\n)+$/);
    const [decoded] = await partTexts(result.raw);
    expect(untrack(decoded).replace(/<img [^>]*>/, '')).toBe(html);
  });

  test('7bit stays 7bit, unless a tracking URL pushes a line over 998 octets: then quoted-printable', async () => {
    const short = message([...BASE_HEADERS, 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'], 'Go https://shop.example/s\r\n');
    const shortOut = text((await rewrite(short)).raw);
    expect(shortOut).toContain('Content-Transfer-Encoding: 7bit\r\n');

    const long = message([...BASE_HEADERS, 'Content-Type: text/plain; charset=us-ascii'], `${'x'.repeat(900)} https://shop.example/long\r\n`);
    const result = await rewrite(long);
    const out = text(result.raw);
    expect(out).toContain('Content-Transfer-Encoding: quoted-printable\r\n');
    for (const line of out.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    const [decoded] = await partTexts(result.raw);
    expect(untrack(decoded)).toBe(`${'x'.repeat(900)} https://shop.example/long\r\n`);
  });

  test('8bit text in a single-byte charset is rewritten in that charset, bytes kept', async () => {
    const body = iconv.encode('D\u00e9j\u00e0 vu \u2014 voir https://shop.example/caf\u00e9 \u00bb fin\r\n', 'windows-1252');
    const raw = Buffer.concat([message([...BASE_HEADERS, 'Content-Type: text/plain; charset=windows-1252', 'Content-Transfer-Encoding: 8bit'], ''), body]);
    const result = await rewrite(raw);
    expect(result.links).toEqual([{ index: 0, url: 'https://shop.example/caf\u00e9' }]);
    const restored = untrack(iconv.decode(result.raw, 'windows-1252'));
    expect(iconv.encode(restored, 'windows-1252').equals(raw)).toBe(true);
    expect(text(result.raw)).toContain('charset=windows-1252');
  });

  test.each([
    ['iso-8859-1', 'quoted-printable'],
    ['koi8-r', '8bit'],
    ['shift_jis', '8bit'],
    ['ks_c_5601-1987', 'base64'],
    ['big5', 'quoted-printable'],
    ['x-mac-cyrillic', 'quoted-printable'],
  ])('%s (%s) is really decoded: the text around the link survives intact', async (charset, cte) => {
    const sample: Record<string, string> = {
      'iso-8859-1': 'Gr\u00fc\u00dfe aus K\u00f6ln',
      'koi8-r': '\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440',
      shift_jis: '\u3053\u3093\u306b\u3061\u306f\u4e16\u754c',
      'ks_c_5601-1987': '\uc548\ub155\ud558\uc138\uc694',
      big5: '\u4f60\u597d\uff0c\u4e16\u754c',
      'x-mac-cyrillic': '\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439',
    };
    const original = `${sample[charset]} https://shop.example/x ${sample[charset]}\r\n`;
    const bytes = iconv.encode(original, charset === 'x-mac-cyrillic' ? 'maccyrillic' : charset);
    const encoded = cte === 'base64' ? libbase64.wrap(libbase64.encode(bytes), 76) + '\r\n' : cte === 'quoted-printable' ? libqp.wrap(libqp.encode(bytes), 76) : bytes.toString('latin1');
    const raw = message([...BASE_HEADERS, `Content-Type: text/plain; charset=${charset}`, `Content-Transfer-Encoding: ${cte}`], encoded);
    const result = await rewrite(raw);
    expect(result.links).toHaveLength(1);
    const [decoded] = await partTexts(result.raw, charset === 'x-mac-cyrillic' ? 'maccyrillic' : charset);
    expect(untrack(decoded)).toBe(original);
    expect(text(result.raw)).toContain(`charset=${charset}`);
  });

  test('iso-2022-jp (which cannot be re-encoded) is decoded and written as UTF-8, and relabelled consistently', async () => {
    // "こんにちは https://shop.example/jp" in ISO-2022-JP
    const jis = Buffer.concat([Buffer.from('1b244224332473244b2441244f1b2842', 'hex'), Buffer.from(' https://shop.example/jp\r\n')]);
    const raw = message([...BASE_HEADERS, 'Content-Type: text/plain; charset=ISO-2022-JP', 'Content-Transfer-Encoding: 7bit'], jis.toString('latin1'));
    const result = await rewrite(raw);
    const out = text(result.raw);
    expect(out).toMatch(/Content-Type: text\/plain; charset=utf-8/i);
    expect(out).toContain('Content-Transfer-Encoding: quoted-printable');
    expect(out.match(/Content-Transfer-Encoding/g)).toHaveLength(1);
    const [decoded] = await partTexts(result.raw, 'utf-8');
    expect(untrack(decoded)).toBe('\u3053\u3093\u306b\u3061\u306f https://shop.example/jp\r\n');
  });

  test('quoted-printable keeps lone CR/LF as data (=0D/=0A) and adds no line break of its own', async () => {
    const raw = message([...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="b"'], multipart('b', [
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=0DHello=0Aworld https://shop.example/x and more=',
    ]));
    const result = await rewrite(raw);
    const out = text(result.raw);
    expect(out).toMatch(/\r\n\r\n=0DHello=0Aworld https:\/\/click/);
    expect(out.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const [decoded] = await partTexts(result.raw);
    expect(untrack(decoded)).toBe('\rHello\nworld https://shop.example/x and more');
  });

  test('a part with no links is not re-encoded at all', async () => {
    const raw = message([...BASE_HEADERS, 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable'], 'Gr=FC=DFe=\r\n aus K=F6ln\r\n');
    const result = await rewrite(raw);
    expect(result.raw.equals(raw)).toBe(true);
    expect(result.links).toEqual([]);
  });

  test('invalid bytes for the declared charset are preserved exactly (byte view)', async () => {
    const body = Buffer.concat([Buffer.from('Bad \xff\xfe utf-8 '), Buffer.from('https://shop.example/x\r\n')]);
    const raw = Buffer.concat([message([...BASE_HEADERS, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'], ''), body]);
    const result = await rewrite(raw);
    expect(result.links).toHaveLength(1);
    expect(untrack(text(result.raw))).toBe(text(raw));
  });

  test('a body that is not what its Content-Transfer-Encoding says is left untouched, with a note', async () => {
    const raw = message([...BASE_HEADERS, 'Content-Type: multipart/alternative; boundary="b"'], multipart('b', ['Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nThis is not base64! https://shop.example/x', 'Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nhttps://shop.example/y']));
    const result = await rewrite(raw);
    expect(result.raw.equals(raw)).toBe(true);
    expect(result.notes).toEqual([expect.stringContaining('not valid base64'), expect.stringContaining('unknown Content-Transfer-Encoding')]);
  });

  test('LF line endings are kept, including in re-encoded parts', async () => {
    const html = `<body>${'word '.repeat(50)}<a href="https://shop.example/lf">x</a></body>`;
    const raw = message([...BASE_HEADERS, 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'], libqp.wrap(libqp.encode(html), 76).replace(/\r\n/g, '\n') + '\n', '\n');
    const result = await rewrite(raw);
    expect(text(result.raw)).not.toContain('\r');
    const [decoded] = await partTexts(result.raw);
    expect(untrack(decoded).replace(/<img [^>]*>/, '')).toBe(html + '\n');
  });
});

describe('rewriteMessage: long destinations (issue 10)', () => {
  test('links whose tracking URL would be over MAX_TRACKING_URL_LENGTH stay untracked, with one note per part counting them and naming one; the longest that fits is tracked', async () => {
    const destination = (n: number) => `https://shop.example/landing?ref=${'a'.repeat(n)}`;
    const withLinks = (...urls: string[]) =>
      message(
        [...BASE_HEADERS, 'Content-Type: multipart/alternative; boundary="b"'],
        multipart('b', [`Content-Type: text/plain\r\n\r\n${urls.join('\r\n')}`, `Content-Type: text/html\r\n\r\n<body>${urls.map((url) => `<a href="${url}">x</a>`).join('')}</body>`]),
      );
    const n = await largestFitting(async (length) => (await rewrite(withLinks(destination(length)))).links.length === 1, MAX_TRACKING_URL_LENGTH);
    const [longest, tooLong, longer] = [destination(n), destination(n + 1), destination(n + 2)];

    // Two distinct destinations too long, one of them twice.
    const result = await rewrite(withLinks(longest, tooLong, longer, 'https://shop.example/short', tooLong));
    expect(result.skipped).toBeUndefined();
    expect(result.links.map((link) => link.url)).toEqual([longest, 'https://shop.example/short']);
    const [plain, html] = await partTexts(result.raw);
    for (const part of [plain, html]) {
      const tracked = trackedIn(part);
      expect(tracked.map((link) => link.url)).toEqual([longest, 'https://shop.example/short']);
      expect(Math.max(...tracked.map((link) => link.tracking.length))).toBeGreaterThan(MAX_TRACKING_URL_LENGTH - 4);
      expect(part).toContain(tooLong); // as it was, and still working
      expect(part).toContain(longer);
    }
    const noteFor = (part: string) =>
      expect.stringMatching(
        new RegExp(
          `^part \\d \\(${part}\\): 2 links left untracked: tracking URL or redirect over ${MAX_TRACKING_URL_LENGTH} characters \\(RFC 9110\\), ` +
            `e\\.g\\. "https://shop\\.example/landing\\?ref=a+…\\(${tooLong.length} characters\\)", whose tracking URL would be 80\\d\\d characters$`,
        ),
      );
    expect(result.notes).toEqual([noteFor('text/plain'), noteFor('text/html')]);
  });
});

describe('rewriteMessage: line endings (issue 10)', () => {
  /** Offsets of line feeds not preceded by a carriage return. */
  const bareLineFeeds = (bytes: Buffer): number[] => [...text(bytes).matchAll(/(?<!\r)\n/g)].map((m) => m.index);
  const base64Lines = (content: string, eol: string) => libbase64.wrap(libbase64.encode(Buffer.from(content)), 76).replace(/\r\n/g, eol) + eol;
  const html = `<body>${'word '.repeat(60)}<a href="https://shop.example/eol">x</a></body>`;
  const htmlHeaders = (cte: string) => `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`;

  /** A CRLF message whose very first line ends in a bare LF (a platform that writes its first header itself). */
  const crlfFirstLineLf = (headers: string[], body: string): Buffer => {
    const raw = message(headers, body);
    const firstEnd = raw.indexOf('\r\n');
    return Buffer.concat([raw.subarray(0, firstEnd), Buffer.from('\n'), raw.subarray(firstEnd + 2)]);
  };

  test('a CRLF message whose first line ends in LF: its re-encoded base64 and quoted-printable parts are written with CRLF', async () => {
    const raw = crlfFirstLineLf(
      [...BASE_HEADERS, 'Content-Type: multipart/alternative; boundary="b"'],
      multipart('b', [htmlHeaders('base64') + base64Lines(html, '\r\n'), htmlHeaders('quoted-printable') + libqp.wrap(libqp.encode(Buffer.from(html)), 76) + '\r\n']),
    );
    expect(bareLineFeeds(raw)).toHaveLength(1);
    const result = await rewrite(raw);
    expect(result.skipped).toBeUndefined();
    expect(trackedIn((await partTexts(result.raw)).join(''))).toHaveLength(2);
    // The sender's own bare LF (in a header block left as it was) is the only one.
    expect(bareLineFeeds(result.raw)).toEqual(bareLineFeeds(raw));
    expect(text(result.raw)).toMatch(/=\r\n/); // quoted-printable soft line breaks
  });

  test('headers the engine writes in such a message end in CRLF: a part whose encoding changes, and X-AMP removed', async () => {
    const long = crlfFirstLineLf([...BASE_HEADERS, 'Content-Type: text/plain; charset=us-ascii'], `${'x'.repeat(990)} https://shop.example/long\r\n`);
    const tracked = await rewrite(long);
    expect(text(tracked.raw)).toContain('Content-Transfer-Encoding: quoted-printable\r\n');
    expect(bareLineFeeds(tracked.raw)).toEqual([]);

    const skipped = await rewrite(crlfFirstLineLf([...BASE_HEADERS, 'X-AMP: skip', 'Content-Type: text/plain'], 'https://shop.example/a\r\n'));
    expect(skipped.skipped).toMatch(/^x-amp-skip/);
    expect(text(skipped.raw)).not.toContain('X-AMP');
    expect(bareLineFeeds(skipped.raw)).toEqual([]);
  });

  test('a part with its own line ending: in an LF message a CRLF part keeps CRLF and an LF part keeps LF', async () => {
    const raw = message(
      [...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="b"'],
      multipart('b', ['Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n@CRLF@', htmlHeaders('base64') + '@LF@']),
      '\n',
    );
    const withBodies = Buffer.from(text(raw).replace('@CRLF@', base64Lines(html, '\r\n')).replace('@LF@', base64Lines(html, '\n')), 'latin1');
    const result = await rewrite(withBodies);
    const out = text(result.raw);
    const second = out.indexOf('Content-Type: text/html', out.indexOf('Content-Type: text/html') + 1);
    const [crlfBody, lfBody] = [out.indexOf('Content-Type: text/html'), second].map((header) => {
      const start = out.indexOf('\n\n', header) + 2;
      return out.slice(start, out.indexOf('\n--b', start));
    });
    expect(crlfBody).toMatch(/^([A-Za-z0-9+/=]{1,76}\r\n)+$/);
    expect(lfBody).toMatch(/^([A-Za-z0-9+/=]{1,76}\n)+$/);
    expect(trackedIn((await partTexts(result.raw)).join('')).map((link) => link.url)).toEqual(['https://shop.example/eol', 'https://shop.example/eol']);
  });

  test('in a CRLF message a part written with bare LFs is re-encoded with CRLF: no bare LF in the output', async () => {
    const raw = Buffer.from(
      text(message([...BASE_HEADERS, 'Content-Type: multipart/mixed; boundary="b"'], multipart('b', [htmlHeaders('base64') + '@LF@', 'Content-Type: text/plain\r\n\r\nhttps://shop.example/t']))).replace(
        '@LF@',
        base64Lines(html, '\n'),
      ),
      'latin1',
    );
    const result = await rewrite(raw);
    expect(trackedIn((await partTexts(result.raw)).join(''))).toHaveLength(2);
    expect(bareLineFeeds(result.raw)).toEqual([]);
  });
});

describe('rewriteMessage: options and whole-message rules', () => {
  const raw = message(
    [...BASE_HEADERS, 'Content-Type: multipart/alternative; boundary="b"'],
    multipart('b', [
      'Content-Type: text/plain; charset=utf-8\r\n\r\nA https://shop.example/a B https+notrack://shop.example/n C https://news.example.org/x',
      'Content-Type: text/html; charset=utf-8\r\n\r\n<body><a href="https://shop.example/a">a</a><a href="http+notrack://shop.example/n">n</a><a href="https://Example.ORG/x">x</a></body>',
    ]),
  );

  test('tracks links, unwraps +notrack, honours excluded domains, adds the pixel', async () => {
    const result = await rewrite(raw, { excludedDomains: ['example.org'] });
    const out = text(result.raw);
    expect(result.links).toEqual([{ index: 0, url: 'https://shop.example/a' }]);
    expect(out).toContain('B https://shop.example/n C https://news.example.org/x');
    expect(out).toContain('<a href="http://shop.example/n">n</a><a href="https://Example.ORG/x">x</a>');
    expect(out).not.toContain('notrack');
    expect(trackedIn(out).map((l) => l.url)).toEqual(['https://shop.example/a', 'https://shop.example/a']);
    expect(result.pixel).toBe(true);
  });

  test('clicks off: no link tracked but +notrack still removed; opens off: no pixel', async () => {
    const result = await rewrite(raw, { trackClicks: false, trackOpens: false });
    const out = text(result.raw);
    expect(result.links).toEqual([]);
    expect(result.pixel).toBe(false);
    expect(out).not.toContain('notrack');
    expect(out).not.toContain('click.example.com');
    expect(out).toBe(text(raw).replace(/\+notrack/g, ''));
  });

  test('the pixel is an invisible 1x1 image on the tracking domain, http when ssl is off', async () => {
    const result = await rewrite(raw, { ssl: false, trackClicks: false });
    const img = /<img [^>]*>/.exec(text(result.raw))![0];
    expect(img).toMatch(/^<img src="http:\/\/click\.example\.com\/o\/[^"]+" width="1" height="1" alt="" border="0" style="[^"]*display:block;width:1px;height:1px[^"]*">$/);
    expect(pixelsIn(img)).toHaveLength(1);
  });

  test('X-AMP: skip (any case, spaces) turns tracking off and removes only that header', async () => {
    for (const header of ['X-AMP: skip', 'x-amp:   SKIP  ', 'X-Amp:\tSkip']) {
      const withHeader = message([...BASE_HEADERS.slice(0, 2), header, ...BASE_HEADERS.slice(2), 'Content-Type: text/plain'], 'https://shop.example/a\r\n');
      const without = message([...BASE_HEADERS, 'Content-Type: text/plain'], 'https://shop.example/a\r\n');
      const result = await rewrite(withHeader);
      expect(result.skipped).toMatch(/^x-amp-skip/);
      expect(text(result.raw)).toBe(text(without));
    }
    const other = message([...BASE_HEADERS, 'X-AMP: yes', 'Content-Type: text/plain'], 'https://shop.example/a\r\n');
    expect((await rewrite(other)).links).toHaveLength(1);
  });

  test('a DKIM-signed message is left untracked unless the platform signs after tracking', async () => {
    const signed = message(['DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=from:to; bh=x; b=y', ...BASE_HEADERS, 'Content-Type: text/plain'], 'https://shop.example/a\r\n');
    const kept = await rewrite(signed);
    expect(kept.raw.equals(signed)).toBe(true);
    expect(kept.skipped).toMatch(/^dkim-signed/);
    expect((await rewrite(signed, { signsAfterTracking: true })).links).toHaveLength(1);
  });

  test('a message over the size limit passes through untouched with the reason', async () => {
    const result = await rewrite(raw, { maxMessageBytes: 100 });
    expect(result.raw).toBe(raw);
    expect(result.skipped).toMatch(/^too-large/);
  });

  test('the message token is random (128 bits) unless given', async () => {
    const a = await rewriteMessage(raw, { ...options(), messageToken: undefined });
    const b = await rewriteMessage(raw, { ...options(), messageToken: undefined });
    expect(a.messageToken).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.messageToken).not.toBe(b.messageToken);
    expect((await rewrite(raw)).messageToken).toBe(TOKEN);
  });

  test('links already on the tracking domain and existing pixels are not wrapped again', async () => {
    const plain = Buffer.from(text(raw).replace(/\+notrack/g, ''), 'latin1');
    const once = await rewrite(plain);
    expect(once.links.length).toBeGreaterThan(0);
    const twice = await rewrite(once.raw);
    expect(twice.raw.equals(once.raw)).toBe(true);
    expect(twice.links).toEqual([]);
  });

  test('bad options are a programming error and throw', async () => {
    await expect(rewriteMessage(raw, options({ trackingDomain: 'not a host' }))).rejects.toThrow(/trackingDomain/);
    await expect(rewriteMessage(raw, options({ server: 'a:b' }))).rejects.toThrow(/server/);
  });
});

describe('rewriteMessage: quoted-printable bodies change only where the content did', () => {
  test('hard lines without a change keep their exact bytes, soft breaks included', async () => {
    const lines = [
      'Unchanged line with a soft=',
      ' break and an =E9 escape',
      'Link: https://shop.example/qp',
      'Trailing tab=09',
      'Last line',
    ];
    const raw = message([...BASE_HEADERS, 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable'], lines.join('\r\n') + '\r\n');
    const result = await rewrite(raw);
    const out = text(result.raw);
    const body = out.slice(out.indexOf('\r\n\r\n') + 4).split('\r\n');
    expect(body.slice(0, 2)).toEqual(lines.slice(0, 2));
    expect(body.slice(-3)).toEqual([...lines.slice(3), '']);
    const [decoded] = await partTexts(result.raw, 'latin1');
    expect(untrack(decoded)).toBe('Unchanged line with a soft break and an \u00e9 escape\r\nLink: https://shop.example/qp\r\nTrailing tab\t\r\nLast line\r\n');
  });

  test('a body that encodes line breaks (=0A) is encoded afresh, correctly', async () => {
    const raw = message([...BASE_HEADERS, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'], 'one=0Atwo https://shop.example/a\r\nthree\r\n');
    const result = await rewrite(raw);
    const [decoded] = await partTexts(result.raw);
    expect(untrack(decoded)).toBe('one\ntwo https://shop.example/a\r\nthree\r\n');
  });
});

import { rewriteHtml, type HtmlLinkRewriter } from '../src/html-links';

/** Rewrites every http(s) URL to T(<url>) so the test can see exactly what was found. */
const marker: HtmlLinkRewriter = {
  rewriteUrl: (url) => (/^https?:/i.test(url) ? `https://t.example/${encodeURIComponent(url)}` : undefined),
  isOpenPixel: (src) => src.startsWith('https://t.example/o/'),
};
const found = (html: string): string[] =>
  [...rewriteHtml(html, marker).html.matchAll(/https:\/\/t\.example\/([^"'\s>]+)/g)].map((m) => decodeURIComponent(m[1]));

describe('rewriteHtml: finding links', () => {
  test.each([
    ['double quotes', '<a href="https://a.example/x">x</a>'],
    ['single quotes', "<a href='https://a.example/x'>x</a>"],
    ['no quotes', '<a href=https://a.example/x>x</a>'],
    ['spaces around =', '<a href = "https://a.example/x">x</a>'],
    ['upper-case tag and attribute', '<A HREF="https://a.example/x">x</A>'],
    ['other attributes first', '<a class="btn" style="color:red" href="https://a.example/x" target=_blank>x</a>'],
    ['area', '<map><area shape="rect" coords="0,0,1,1" href="https://a.example/x"></map>'],
    ['newline in tag', '<a\n  href="https://a.example/x"\n>x</a>'],
  ])('%s', (_name, html) => {
    expect(found(html)).toEqual(['https://a.example/x']);
  });

  test('entities in the href are decoded to the true destination, and only the value is replaced', () => {
    const html = '<p>Hi</p><a href="https://a.example/?a=1&amp;b=2&#38;c=3&#x26;d=4" id=z>go</a>';
    expect(found(html)).toEqual(['https://a.example/?a=1&b=2&c=3&d=4']);
    const out = rewriteHtml(html, marker).html;
    expect(out.startsWith('<p>Hi</p><a href="https://t.example/')).toBe(true);
    expect(out.endsWith('" id=z>go</a>')).toBe(true);
  });

  test('a legacy entity name inside a query is not decoded (attribute rules)', () => {
    expect(found('<a href="https://a.example/?x=1&copy=2">x</a>')).toEqual(['https://a.example/?x=1&copy=2']);
  });

  test('surrounding whitespace stays in the source and out of the destination', () => {
    const out = rewriteHtml('<a href="  https://a.example/x\n">x</a>', marker).html;
    expect(out).toBe(`<a href="  https://t.example/${encodeURIComponent('https://a.example/x')}\n">x</a>`);
  });

  test('the new URL is written HTML-escaped', () => {
    const out = rewriteHtml('<a href="https://a.example/x">x</a>', { ...marker, rewriteUrl: () => 'https://t.example/?a=1&b="2"' }).html;
    expect(out).toBe('<a href="https://t.example/?a=1&amp;b=&quot;2&quot;">x</a>');
  });

  test('link, base, img, script, style, form and other elements are left alone', () => {
    const html = [
      '<link rel="stylesheet" href="https://a.example/s.css">',
      '<base href="https://a.example/">',
      '<img src="https://a.example/i.png" href="https://a.example/img">',
      '<script>var a = \'<a href="https://a.example/script">\';</script>',
      '<style>a[href="https://a.example/style"]{}</style>',
      '<form action="https://a.example/form"></form>',
      '<div href="https://a.example/div"></div>',
      '<textarea><a href="https://a.example/textarea"></a></textarea>',
    ].join('');
    expect(rewriteHtml(html, marker)).toEqual({ html, changed: false, pixelAdded: false });
  });

  test('only the first href of an element counts, like in a browser', () => {
    expect(found('<a href="https://a.example/1" href="https://a.example/2">x</a>')).toEqual(['https://a.example/1']);
  });

  test('links in Outlook conditional comments (bulletproof buttons) are tracked', () => {
    const html =
      '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="https://a.example/vml?a=1&amp;b=2" style="height:40px"><w:anchorlock/><center>Go</center></v:roundrect><![endif]-->' +
      '<!--[if !mso]><!--><a href="https://a.example/html">Go</a><!--<![endif]-->';
    expect(found(html)).toEqual(['https://a.example/vml?a=1&b=2', 'https://a.example/html']);
  });

  test('links in ordinary comments (commented-out markup) are not tracked', () => {
    const html = '<!-- <a href="https://a.example/old">old</a> --><a href="https://a.example/new">new</a>';
    expect(found(html)).toEqual(['https://a.example/new']);
  });

  test('the source outside replaced values is byte-identical, including odd markup', () => {
    const html = '<!DOCTYPE html><HTML><body bgcolor=#fff>\u00e9\ud83d\ude00 <a  href=\'https://a.example/\'>x</a>&nbsp;<br/></body></HTML>';
    const out = rewriteHtml(html, marker).html;
    const replaced = `https://t.example/${encodeURIComponent('https://a.example/')}`;
    expect(out).toBe(html.replace('https://a.example/', replaced));
  });
});

describe('rewriteHtml: the open pixel', () => {
  const pixel = '<img src="https://t.example/o/1">';
  test('goes just before the last </body>, any case', () => {
    expect(rewriteHtml('<html><BODY>hi</BODY></html>', marker, pixel).html).toBe(`<html><BODY>hi${pixel}</BODY></html>`);
  });
  test('goes before </html> when there is no </body>', () => {
    expect(rewriteHtml('<html>hi</html>\n', marker, pixel).html).toBe(`<html>hi${pixel}</html>\n`);
  });
  test('goes at the end of a fragment, before its final line breaks', () => {
    expect(rewriteHtml('<p>hi</p>', marker, pixel).html).toBe(`<p>hi</p>${pixel}`);
    expect(rewriteHtml('<p>hi</p>\r\n\r\n', marker, pixel).html).toBe(`<p>hi</p>${pixel}\r\n\r\n`);
  });
  test('ignores a </body> in a comment or a script', () => {
    const html = '<body><!--[if mso]></body><![endif]--><script>"</body>"</script>x</body>';
    expect(rewriteHtml(html, marker, pixel).html).toBe(html.replace(/x<\/body>$/, `x${pixel}</body>`));
  });
  test('is not added twice to a part that already has one', () => {
    const html = '<body><img src="https://t.example/o/1"></body>';
    expect(rewriteHtml(html, marker, pixel)).toEqual({ html, changed: false, pixelAdded: false });
  });
});

import { rewriteText, trimUrlEnd } from '../src/text-links';

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

const mark = (url: string): string => `[${url}]`;
const rewrite = (text: string): string => rewriteText(text, mark).text;

describe('rewriteText', () => {
  test.each([
    ['sentence end', 'See https://x.example/a.', 'See [https://x.example/a].'],
    ['comma, colon and others', 'https://x.example/a, https://x.example/b; https://x.example/c! https://x.example/d?', '[https://x.example/a], [https://x.example/b]; [https://x.example/c]! [https://x.example/d]?'],
    ['balanced brackets inside the URL stay', '(see https://x.example/a_(b)).', '(see [https://x.example/a_(b)]).'],
    ['an unbalanced closer stays in the text', '(https://x.example/a)', '([https://x.example/a])'],
    ['square brackets', '[https://x.example/a]', '[[https://x.example/a]]'],
    ['angle brackets', 'Visit <https://x.example/a?b=1&c=2>.', 'Visit <[https://x.example/a?b=1&c=2]>.'],
    ['quotes', '"https://x.example/a" and \'https://x.example/b\'', '"[https://x.example/a]" and \'[https://x.example/b]\''],
    ['query and fragment', 'https://x.example/p?q=1&r=%20#frag', '[https://x.example/p?q=1&r=%20#frag]'],
    ['line ends', 'a\r\nhttps://x.example/\r\nb', 'a\r\n[https://x.example/]\r\nb'],
    ['no space before non-ASCII text', '詳細はhttps://x.example/aをご覧ください', '詳細は[https://x.example/a]をご覧ください'],
    ['letters of alphabetic scripts belong to the URL', 'Voir https://x.example/café.', 'Voir [https://x.example/café].'],
    ['upper-case scheme', 'HTTPS://X.EXAMPLE/A', '[HTTPS://X.EXAMPLE/A]'],
    ['notrack scheme is found too', 'https+notrack://x.example/a.', '[https+notrack://x.example/a].'],
    [
      'characters RFC 3986 leaves out but real URLs carry (issue 10)',
      'Sign up: https://example.com/signup?utmcsr=(direct)|utmccn=(direct)|utmcmd=(none) today',
      'Sign up: [https://example.com/signup?utmcsr=(direct)|utmccn=(direct)|utmcmd=(none)] today',
    ],
    ['braces and caret', 'https://x.example/{id}/a^b?q={x}', '[https://x.example/{id}/a^b?q={x}]'],
    ['a double quote ends a URL (RFC 3986 appendix C)', 'https://x.example/a"b', '[https://x.example/a]"b'],
    ['an unbalanced closing brace stays in the text', '{https://x.example/a}', '{[https://x.example/a]}'],
    ['typographic quotes end a URL', '\u201chttps://x.example/a\u201d \u00abhttps://x.example/b\u00bb', '\u201c[https://x.example/a]\u201d \u00ab[https://x.example/b]\u00bb'],
    ['markdown emphasis and code', '*https://x.example/a* `https://x.example/b`', '*[https://x.example/a]* `[https://x.example/b]`'],
  ])('%s', (_name, input, expected) => {
    expect(rewrite(input)).toBe(expected);
  });

  test('other schemes and words that merely contain http are ignored', () => {
    const text = 'mailto:a@x.example ftp://x.example/ xhttps://x.example/ www.x.example';
    expect(rewriteText(text, mark)).toEqual({ text, changed: false });
  });

  test('a URL the callback declines stays exactly as it was', () => {
    const text = 'a https://x.example/keep. b https://x.example/take.';
    expect(rewriteText(text, (u) => (u.endsWith('take') ? 'T' : undefined)).text).toBe('a https://x.example/keep. b T.');
  });

  test.each([
    ['an emoji', 'https://x.example/a\u{1f389}b'],
    ['a letter of another script', 'https://x.example/a\u0645\u0631\u062d\u0628\u0627'],
    ['an invisible format character', 'https://x.example/a\u200bb'],
  ])('a URL followed by %s (which clients link or not) is left untracked as a whole, not cut', (_name, token) => {
    const text = `Go ${token} or https://x.example/next.`;
    expect(rewrite(text)).toBe(`Go ${token} or [https://x.example/next].`);
  });

  test('property: a URL with any character real URLs carry is tracked whole, whatever ends it', () => {
    // Every printable ASCII character but space and the delimiters < > ", in every position
    // of a URL (path, query, fragment), with each way text ends a URL around it.
    const special = [...'|{}^`\\[]()\'*!$&+,;=:@~-._%'];
    const contexts: [string, string][] = [
      [' ', ' after'], ['\r\n', '\r\n'], [' ', ''], ['<', '>'], ['"', '" after'], ['(', ')'], ['[', '] after'], [' ', '. After'], [' ', ', then'],
      [" '", "'"], [' ', '!\n'], ['\u201c', '\u201d'], ['\u300c', '\u300d'], ['\u8a73\u7d30\u306f', '\u3092\u3054\u89a7'], ['\t', '\u3002'],
    ];
    const unbalanced = (url: string, open: string, close: string) => count(url, open) !== count(url, close);
    let cases = 0;
    for (const a of special) {
      for (const b of special) {
        const url = `https://x.example/p${a}q/${b}r?k=${a}v&${b}w=1#f${b}z${a}0`;
        for (const [before, after] of contexts) {
          // A closing bracket after a URL with an unbalanced opening one inside is part of it
          // (Wikipedia-style URLs): that is how linkifiers decide it, so it is not a cut.
          if ((after.startsWith(')') && unbalanced(url, '(', ')')) || (after.startsWith(']') && unbalanced(url, '[', ']'))) continue;
          const text = `Before${before}${url}${after}`;
          const found: string[] = [];
          const result = rewriteText(text, (candidate) => {
            found.push(candidate);
            return 'T';
          });
          expect({ text, found }).toEqual({ text, found: [url] });
          expect(result.text).toBe(`Before${before}T${after}`);
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(special.length ** 2 * (contexts.length - 2));
  });

  test('trimUrlEnd', () => {
    expect(trimUrlEnd('https://x.example/a).')).toBe('https://x.example/a');
    expect(trimUrlEnd('https://x.example/(a)')).toBe('https://x.example/(a)');
    expect(trimUrlEnd("https://x.example/it's")).toBe("https://x.example/it's");
  });
});

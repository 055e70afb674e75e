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
    ['markdown emphasis with underscores, strong and strike-through', '_https://x.example/a_, **https://x.example/b**. ~~https://x.example/c~~', '_[https://x.example/a]_, **[https://x.example/b]**. ~~[https://x.example/c]~~'],
    ['markdown marks inside emphasis stay', '_https://x.example/wiki/Foo__', '_[https://x.example/wiki/Foo_]_'],
    ['markdown marks ending a URL stay in it (review of issue 10)', 'see https://x.example/~ now, https://x.example/wiki/Foo_ or https://x.example/?q=a~ and https://x.example/a* https://x.example/b`', 'see [https://x.example/~] now, [https://x.example/wiki/Foo_] or [https://x.example/?q=a~] and [https://x.example/a*] [https://x.example/b`]'],
    ['a mark before the URL that is not the one ending it', '*https://x.example/a_*', '*[https://x.example/a_]*'],
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

  test('property: a URL with any character real URLs carry is tracked whole, wherever it sits and whatever ends it', () => {
    // Every printable ASCII character but space and the delimiters < > ", in every position
    // of a URL (path, query, fragment, its last character), with each way text ends a URL
    // around it, markdown emphasis included.
    const special = [...'|{}^`\\[]()\'*!$&+,;=:@~-._%'];
    const endings = [...special, ...'/?#0'];
    const contexts: [string, string][] = [
      [' ', ' after'], ['\r\n', '\r\n'], [' ', ''], ['<', '>'], ['"', '" after'], ['(', ')'], ['[', '] after'], [' ', '. After'], [' ', ', then'],
      [" '", "'"], [' ', '!\n'], ['\u201c', '\u201d'], ['\u300c', '\u300d'], ['\u8a73\u7d30\u306f', '\u3092\u3054\u89a7'], ['\t', '\u3002'],
      [' _', '_ after'], [' *', '*.'], [' **', '**, then'], [' ~~', '~~'], [' `', '` after'],
    ];
    // What a writer puts after a URL to end a sentence is the sentence's, in every client.
    const sentencePunctuation = /[.,:;!?']$/;
    const unbalanced = (url: string, open: string, close: string) => count(url, open) !== count(url, close);
    let cases = 0;
    const check = (url: string, [before, after]: [string, string]) => {
      // A closing bracket after a URL with an unbalanced opening one inside is part of it
      // (Wikipedia-style URLs), and one ending a URL without its opening partner is not: that
      // is how linkifiers decide it, so neither is a cut (the table above shows both).
      const brackets: [string, string][] = [['(', ')'], ['[', ']'], ['{', '}']];
      if (brackets.some(([open, close]) => after.startsWith(close) && unbalanced(url, open, close))) return;
      if (brackets.some(([open, close]) => url.endsWith(close) && count(url, close) > count(url, open))) return;
      const tracked = sentencePunctuation.test(url) ? url.slice(0, -1) : url;
      const text = `Before${before}${url}${after}`;
      const found: string[] = [];
      const result = rewriteText(text, (candidate) => {
        found.push(candidate);
        return 'T';
      });
      expect({ text, found }).toEqual({ text, found: [tracked] });
      expect(result.text).toBe(`Before${before}T${url.slice(tracked.length)}${after}`);
      cases++;
    };
    for (const a of special) {
      for (const context of contexts) {
        for (const b of special) check(`https://x.example/p${a}q/${b}r?k=${a}v&${b}w=1#f${b}z${a}0`, context);
        for (const end of endings) check(`https://x.example/p${a}q/r?k=${a}v#f${a}z0${end}`, context);
      }
    }
    expect(cases).toBeGreaterThan(special.length * (special.length + endings.length) * (contexts.length - 3));
  });

  test('trimUrlEnd', () => {
    expect(trimUrlEnd('https://x.example/a).')).toBe('https://x.example/a');
    expect(trimUrlEnd('https://x.example/(a)')).toBe('https://x.example/(a)');
    expect(trimUrlEnd("https://x.example/it's")).toBe("https://x.example/it's");
    expect(trimUrlEnd('https://x.example/a_')).toBe('https://x.example/a_');
    expect(trimUrlEnd('https://x.example/a__.', '_')).toBe('https://x.example/a_');
    expect(trimUrlEnd('https://x.example/a**', '**')).toBe('https://x.example/a');
  });
});

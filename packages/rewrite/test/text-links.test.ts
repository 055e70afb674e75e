import { rewriteText, trimUrlEnd } from '../src/text-links';

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

  test('trimUrlEnd', () => {
    expect(trimUrlEnd('https://x.example/a).')).toBe('https://x.example/a');
    expect(trimUrlEnd('https://x.example/(a)')).toBe('https://x.example/(a)');
    expect(trimUrlEnd("https://x.example/it's")).toBe("https://x.example/it's");
  });
});

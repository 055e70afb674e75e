import { parentDomain, selectTrackingDomain } from '../src/select-tracking-domain';
import { senderDomain } from '../src/sender-domain';

const domains = [{ host: 'click.example.com' }, { host: 'track.news.example.com' }, { host: 'links.other.example' }];

describe('selectTrackingDomain', () => {
  test.each([
    ['example.com', 'click.example.com'],
    ['EXAMPLE.com.', 'click.example.com'],
    ['mail.example.com', 'click.example.com'],
    ['news.example.com', 'track.news.example.com'],
    ['a.news.example.com', 'track.news.example.com'],
    ['other.example', 'links.other.example'],
  ])('mail from %s goes through %s', (sender, host) => {
    expect(selectTrackingDomain(domains, sender).domain?.host).toBe(host);
  });

  test.each(['notexample.com', 'example.com.evil.example', 'example.org', 'com'])('no tracking domain for %s', (sender) => {
    expect(selectTrackingDomain(domains, sender)).toEqual({ reason: expect.stringMatching(/^no-tracking-domain: /) });
  });

  test('an explicit domain must be one of the server’s', () => {
    expect(selectTrackingDomain(domains, 'example.com', 'LINKS.other.example.').domain?.host).toBe('links.other.example');
    expect(selectTrackingDomain(domains, 'example.com', 'click.elsewhere.example')).toEqual({ reason: expect.stringContaining('click.elsewhere.example is not a tracking domain') });
  });

  test('no sender, no domain', () => {
    expect(selectTrackingDomain(domains, undefined).domain).toBeUndefined();
    expect(selectTrackingDomain([], 'example.com').domain).toBeUndefined();
  });

  test('parentDomain', () => {
    expect(parentDomain('click.example.com')).toBe('example.com');
  });
});

describe('senderDomain', () => {
  const msg = (from: string, eol = '\r\n') => Buffer.from(`Subject: x${eol}From: ${from}${eol}To: a@b.example${eol}${eol}From: body@wrong.example${eol}`);
  test.each([
    ['News <news@Example.COM>', 'example.com'],
    ['news@example.com', 'example.com'],
    ['"Doe, John" <john@mail.example.org>', 'mail.example.org'],
    ['=?utf-8?q?Caf=C3=A9?= <cafe@example.fr>', 'example.fr'],
    ['"a@b" <real@sender.example>', 'sender.example'],
  ])('%s → %s', (from, domain) => {
    expect(senderDomain(msg(from))).toBe(domain);
    expect(senderDomain(msg(from, '\n'))).toBe(domain);
  });
  test('folded header', () => {
    expect(senderDomain(Buffer.from('From: "Long name"\r\n <x@folded.example>\r\n\r\nbody'))).toBe('folded.example');
  });
  test('none', () => {
    expect(senderDomain(Buffer.from('Subject: x\r\n\r\nFrom: a@b.example\r\n'))).toBeUndefined();
    expect(senderDomain(Buffer.from('From: undisclosed\r\n\r\n'))).toBeUndefined();
  });
});

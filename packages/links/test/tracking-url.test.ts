import { keyRing, InvalidSecretError } from '../src/key-ring';
import { newMessageToken } from '../src/message-token';
import { largestFitting } from '@mailbeacon/testing';
import { signLink, signPixel, verifyLink, verifyPixel, SignLinkError, TrackingUrlTooLongError, MAX_TRACKING_URL_LENGTH, locationFor } from '../src/tracking-url';

const keys = keyRing('current-secret-0123456789');
const host = { host: 'click.example.com' };
const link = { server: 'srv_1', messageToken: 'Q2xpY2tUb2tlbjEyMzQ1Ng', linkIndex: 3, url: 'https://shop.example/a?b=1&c=%20d#frag' };

function segments(url: string): string[] {
  return new URL(url).pathname.split('/').slice(1);
}
function withSegment(url: string, i: number, value: string): string {
  const parts = segments(url);
  parts[i] = value;
  return `https://click.example.com/${parts.join('/')}`;
}

describe('signLink / verifyLink', () => {
  const signed = signLink(keys, host, link);

  test('a signed link verifies to exactly its fields', () => {
    expect(signed.startsWith('https://click.example.com/c/')).toBe(true);
    expect(verifyLink(keys, signed)).toEqual({ ok: true, value: { ...link, keyId: keys.current.id } });
  });

  test('uses only URL-safe characters and http when ssl is off', () => {
    expect(signed).toMatch(/^https:\/\/click\.example\.com\/[A-Za-z0-9_\-/]+$/);
    expect(signLink(keys, { host: 'localhost:8080', ssl: false }, link).startsWith('http://localhost:8080/c/')).toBe(true);
  });

  test('verifies from the path alone, ignoring query strings added by scanners', () => {
    const path = new URL(signed).pathname;
    expect(verifyLink(keys, path).ok).toBe(true);
    expect(verifyLink(keys, `${signed}?utm_source=scanner`).ok).toBe(true);
  });

  test('non-ASCII destinations round-trip', () => {
    const url = 'https://例え.jp/パス?q=ü';
    const v = verifyLink(keys, signLink(keys, host, { ...link, url }));
    expect(v.ok && v.value.url).toBe(url);
  });

  test.each([
    [1, 'other-key', 'unknown signing key'],
    [2, 'srv_2', 'bad signature'],
    [3, 'Q2xpY2tUb2tlbjEyMzQ1Nw', 'bad signature'],
    [4, '4', 'bad signature'],
    [5, Buffer.from('https://evil.example/').toString('base64url'), 'bad signature'],
    [6, 'AAAAAAAAAAAAAAAAAAAAAA', 'bad signature'],
    [4, '03', 'malformed link index'],
    [2, 'srv:1', 'malformed server token'],
    [5, 'a+b', 'malformed destination'],
  ])('tampering with segment %i (%s) is rejected: %s', (i, value, reason) => {
    expect(verifyLink(keys, withSegment(signed, i, value))).toEqual({ ok: false, reason });
  });

  test('truncated, extended or foreign URLs are rejected', () => {
    const parts = segments(signed);
    expect(verifyLink(keys, `https://click.example.com/${parts.slice(0, -1).join('/')}`).ok).toBe(false);
    expect(verifyLink(keys, `${signed}/extra`).ok).toBe(false);
    expect(verifyLink(keys, 'https://click.example.com/').ok).toBe(false);
    expect(verifyLink(keys, 'not a url').ok).toBe(false);
    expect(verifyLink(keys, signPixel(keys, host, link))).toEqual({ ok: false, reason: 'not a click link' });
  });

  test('a valid signature made with a key we do not hold is rejected', () => {
    const stranger = keyRing('someone-elses-secret-123');
    expect(verifyLink(keys, signLink(stranger, host, link))).toEqual({ ok: false, reason: 'unknown signing key' });
  });

  test('key rotation: links signed with a previous key still verify, new links use the new key', () => {
    const rotated = keyRing('the-new-secret-abcdefgh', ['current-secret-0123456789']);
    expect(verifyLink(rotated, signed).ok).toBe(true);
    const fresh = signLink(rotated, host, link);
    expect(segments(fresh)[1]).toBe(rotated.current.id);
    expect(verifyLink(keys, fresh)).toEqual({ ok: false, reason: 'unknown signing key' });
  });

  test('refuses to sign what it could never redirect to', () => {
    expect(() => signLink(keys, host, { ...link, url: 'javascript:alert(1)' })).toThrow(SignLinkError);
    expect(() => signLink(keys, host, { ...link, url: '//evil.example' })).toThrow(SignLinkError);
    expect(() => signLink(keys, host, { ...link, server: 'a/b' })).toThrow(SignLinkError);
    expect(() => signLink(keys, host, { ...link, linkIndex: -1 })).toThrow(SignLinkError);
  });

  test.each([
    ['ASCII: the tracking URL is the longer', 'a', 'tracking URL', 4],
    ['non-ASCII: the percent-encoded redirect is the longer', '\u20ac', 'redirect', 9],
    ['ASCII with spaces: the percent-encoded redirect is the longer', ' ', 'redirect', 3],
  ] as const)('a tracking URL and its redirect are at most MAX_TRACKING_URL_LENGTH characters; a longer one is refused with its length (%s)', async (_name, filler, what, step) => {
    const destination = (n: number) => `https://shop.example/landing?ref=${filler.repeat(n)}&end`;
    const fits = (n: number) => {
      try {
        signLink(keys, host, { ...link, url: destination(n) });
        return true;
      } catch (error) {
        if (error instanceof TrackingUrlTooLongError) return false;
        throw error;
      }
    };
    const n = await largestFitting(fits, MAX_TRACKING_URL_LENGTH);
    const longest = signLink(keys, host, { ...link, url: destination(n) });
    const longer = what === 'tracking URL' ? longest.length : locationFor(destination(n)).length;
    expect(Math.max(longest.length, locationFor(destination(n)).length)).toBe(longer);
    expect(longer).toBeLessThanOrEqual(MAX_TRACKING_URL_LENGTH);
    expect(longer).toBeGreaterThan(MAX_TRACKING_URL_LENGTH - step); // one more character adds at most `step`
    expect(verifyLink(keys, longest)).toMatchObject({ ok: true, value: { url: destination(n) } });

    const tooLong = () => signLink(keys, host, { ...link, url: destination(n + 1) });
    expect(tooLong).toThrow(SignLinkError);
    const error = (() => {
      try {
        return tooLong();
      } catch (thrown) {
        return thrown;
      }
    })() as TrackingUrlTooLongError;
    expect(error).toBeInstanceOf(TrackingUrlTooLongError);
    expect(error.what).toBe(what);
    expect(error.length).toBeGreaterThan(MAX_TRACKING_URL_LENGTH);
    expect(error.length).toBeLessThanOrEqual(longer + step);
    expect(error.message).toContain(`would be ${error.length} characters, over the ${MAX_TRACKING_URL_LENGTH}`);
  });
});

describe('signPixel / verifyPixel', () => {
  const pixel = { server: 'srv_1', messageToken: 'Q2xpY2tUb2tlbjEyMzQ1Ng' };
  const signed = signPixel(keys, host, pixel);
  test('round-trips and rejects tampering', () => {
    expect(verifyPixel(keys, signed)).toEqual({ ok: true, value: { ...pixel, keyId: keys.current.id } });
    expect(verifyPixel(keys, withSegment(signed, 3, 'Q2xpY2tUb2tlbjEyMzQ1Nw')).ok).toBe(false);
    expect(verifyPixel(keys, signLink(keys, host, { ...pixel, linkIndex: 0, url: 'https://a.example/' }))).toEqual({ ok: false, reason: 'not an open pixel' });
  });
});

describe('keys and tokens', () => {
  test('short secrets are refused', () => {
    expect(() => keyRing('short')).toThrow(InvalidSecretError);
  });
  test('key ids are stable per secret and distinct across secrets', () => {
    expect(keyRing('current-secret-0123456789').current.id).toBe(keys.current.id);
    expect(keyRing('current-secret-0123456780').current.id).not.toBe(keys.current.id);
  });
  test('message tokens carry 128 random bits', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newMessageToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(Buffer.from(t, 'base64url')).toHaveLength(16);
  });
});

describe('messageTokenFor', () => {
  test('is stable per (server, message), distinct otherwise, 128 bits, and depends on the key', async () => {
    const { messageTokenFor } = await import('../src/message-token');
    const a = messageTokenFor(keys, 'srv', 'msg-1');
    expect(a).toBe(messageTokenFor(keys, 'srv', 'msg-1'));
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(messageTokenFor(keys, 'srv', 'msg-2')).not.toBe(a);
    expect(messageTokenFor(keys, 'srv2', 'msg-1')).not.toBe(a);
    expect(messageTokenFor(keyRing('another-secret-0123456789'), 'srv', 'msg-1')).not.toBe(a);
  });
});

import { InvalidPayloadError } from '../src/payloads';
import { parseApiKeyId, parseNewApiKeyInput, parseNewServerInput, parseNewTrackingDomainInput, parseServerToken, parseTrackingDomainHost, parseTrackingDomainUpdateInput } from '../src/admin-inputs';
import { readsAsIpAddress } from '../src/host-name';

const failureOf = (fn: () => unknown): InvalidPayloadError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidPayloadError) return error;
    throw error;
  }
  throw new Error('expected an InvalidPayloadError');
};

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as InvalidPayloadError).issues.map((i) => i.path);
  }
  throw new Error('expected an InvalidPayloadError');
};

describe('admin inputs', () => {
  test('a tracking domain is normalised: lower case, no trailing dot, excluded domains deduplicated', () => {
    expect(parseNewTrackingDomainInput({ host: ' Click.Example.COM. ', server: 'abc', excludedDomains: ['Example.org', 'example.org.', 'x.example'] })).toEqual({
      host: 'click.example.com',
      server: 'abc',
      excludedDomains: ['example.org', 'x.example'],
    });
  });

  test('each bad field is named', () => {
    expect(issuesOf(() => parseNewTrackingDomainInput({ host: 'no_underscores.example', server: 'a:b', ssl: 'yes', excludedDomains: ['ok.example', 'bad domain'] }))).toEqual(
      expect.arrayContaining(['host', 'server', 'ssl', 'excludedDomains[1]']),
    );
    expect(issuesOf(() => parseNewTrackingDomainInput({ host: 'localhost', server: 'a' }))).toEqual(['host']);
    expect(issuesOf(() => parseNewTrackingDomainInput({ host: 'click.example.com', server: 'a', colour: 'red' }))).toEqual(['(root)']);
    expect(issuesOf(() => parseNewServerInput({ name: '  ' }))).toEqual(['name']);
    expect(issuesOf(() => parseTrackingDomainUpdateInput({}))).toEqual(['(root)']);
    expect(() => parseTrackingDomainHost('-bad-.example')).toThrow(InvalidPayloadError);
  });

  test('updates take any subset of the settings', () => {
    expect(parseTrackingDomainUpdateInput({ trackOpens: false })).toEqual({ trackOpens: false });
    expect(parseTrackingDomainUpdateInput({ excludedDomains: [] })).toEqual({ excludedDomains: [] });
  });

  test('an IP address, in any form a resolver or URL parser accepts, is not a tracking domain', () => {
    const ipMessage = 'must be a domain name such as click.example.com, not an IP address (its last label cannot be a number)';
    for (const host of ['127.0.0.1', '10.0.0.1', '10.0.0.1.', '127.1', '0x7f.0.0.1', '0177.0.0.1', '10.0.0.0x1', '1.0X1', '2130706433', '0x7f000001', '::1', '[::1]', '[2001:db8::1]', 'fe80::1', 'click.example.123']) {
      expect(failureOf(() => parseNewTrackingDomainInput({ host, server: 'abc' })).issues).toEqual([{ path: 'host', message: ipMessage }]);
    }
    // Excluding links to an address is harmless: only the tracking host itself must be a name.
    expect(parseNewTrackingDomainInput({ host: 'click.example.com', server: 'abc', excludedDomains: ['192.168.0.1'] }).excludedDomains).toEqual(['192.168.0.1']);
    // Digits are fine anywhere but in the last label; a hex-looking label that is no number is a name.
    expect(parseNewTrackingDomainInput({ host: '1.2.3.example', server: 'abc' }).host).toBe('1.2.3.example');
    expect(parseNewTrackingDomainInput({ host: '123.0xg', server: 'abc' }).host).toBe('123.0xg');
    expect(parseNewTrackingDomainInput({ host: 'click.7eleven.com', server: 'abc' }).host).toBe('click.7eleven.com');
    expect(readsAsIpAddress('click.example.com')).toBe(false);
  });

  test('a domain added before IP addresses were refused can still be named, to change or remove it', () => {
    expect(parseTrackingDomainHost('10.0.0.1')).toBe('10.0.0.1');
    expect(() => parseTrackingDomainHost('[::1]')).toThrow(InvalidPayloadError);
  });

  test('a server name holds no control characters and does not read as an option', () => {
    const controlMessage = 'must not contain control characters (such as NUL, ESC, BEL or a line break)';
    for (const name of ['a\u0000b', 'red\u001b[31m', 'ding\u0007', 'two\nlines', 'tab\tbed', 'del\u007f', 'csi\u009b2J']) {
      expect(failureOf(() => parseNewServerInput({ name })).issues).toEqual([{ path: 'name', message: controlMessage }]);
    }
    for (const name of ['--help', '-x', ' -n ']) {
      expect(failureOf(() => parseNewServerInput({ name })).issues).toEqual([{ path: 'name', message: 'must not start with - (it would read as a command-line option)' }]);
    }
    // Surrounding blanks (line breaks included) are trimmed, not refused; dashes inside are fine.
    expect(parseNewServerInput({ name: '\n Acme - News \n' })).toEqual({ name: 'Acme - News' });
    expect(parseNewServerInput({ name: 'Ünïcode ✉ 名前' })).toEqual({ name: 'Ünïcode ✉ 名前' });
  });

  test('a server token is checked before it is looked up', () => {
    expect(parseServerToken('Ab-_09')).toBe('Ab-_09');
    // A bare value: the payload names it, as for a bare host.
    expect(failureOf(() => parseServerToken('a\u0000b'))).toMatchObject({ payload: 'token', issues: [{ path: '(root)', message: 'must be a server token' }] });
  });

  test('an API key takes an optional name under the rules of a server name, and nothing else', () => {
    expect(parseNewApiKeyInput({})).toEqual({});
    expect(parseNewApiKeyInput({ name: '  Acme dashboard ' })).toEqual({ name: 'Acme dashboard' });
    expect(failureOf(() => parseNewApiKeyInput({ name: 'a\u001bb' })).issues).toEqual([{ path: 'name', message: expect.stringContaining('control characters') }]);
    expect(issuesOf(() => parseNewApiKeyInput({ server: 'x' }))).toEqual(['(root)']);
  });

  test('an API key id is a positive 32-bit integer, written in digits', () => {
    expect(parseApiKeyId('42')).toBe(42);
    expect(parseApiKeyId('2147483647')).toBe(2147483647);
    for (const bad of ['0', '-1', '1.5', '1e3', '01', ' 1', '2147483648', '', 'x']) {
      expect(failureOf(() => parseApiKeyId(bad))).toMatchObject({ payload: 'id', issues: [{ path: '(root)', message: 'must be an API key id (a positive integer)' }] });
    }
  });
});

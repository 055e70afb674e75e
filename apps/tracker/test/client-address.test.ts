import { isIpStorage, normalizeAddress, storedAddress, truncateAddress } from '../src/client-address';

describe('normalizeAddress', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    // IPv4-mapped IPv6 (what a dual-stack socket reports for an IPv4 client) is the IPv4 address.
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    // IPv6 in RFC 5952 form: lower case, no leading zeros, longest zero run compressed.
    ['2001:DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0db8:85a3:08d3:1319:8a2e:0370:7348', '2001:db8:85a3:8d3:1319:8a2e:370:7348'],
    ['::1', '::1'],
    ['::', '::'],
    ['1::', '1::'],
    ['fe80::1%eth0', 'fe80::1'],
    // IPv4-compatible (deprecated), not mapped: stays IPv6.
    ['::203.0.113.7', '::cb00:7107'],
    ['64:ff9b::203.0.113.7', '64:ff9b::cb00:7107'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeAddress(input)).toBe(expected);
  });

  test.each(['', 'unknown', '203.0.113', '203.0.113.256', '203.0.113.07', ' 203.0.113.7', '203.0.113.7:443', '2001:db8::g', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '[::1]'])(
    'not an address: %j',
    (input) => {
      expect(normalizeAddress(input)).toBeUndefined();
      expect(truncateAddress(input)).toBeUndefined();
    },
  );
});

describe('truncateAddress', () => {
  test.each([
    ['203.0.113.7', '203.0.113.0'],
    ['203.0.113.0', '203.0.113.0'],
    ['10.1.2.255', '10.1.2.0'],
    ['::ffff:203.0.113.7', '203.0.113.0'],
    ['::ffff:cb00:71ff', '203.0.113.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:DB8:0:1234::1', '2001:db8::'],
    ['2001:0:0:1::1', '2001::'],
    ['::1', '::'],
    ['fe80::1%eth0', 'fe80::'],
  ])('%s → %s', (input, expected) => {
    expect(truncateAddress(input)).toBe(expected);
  });
});

describe('storedAddress', () => {
  test('full keeps the canonical address', () => {
    expect(storedAddress('203.0.113.7', 'full')).toBe('203.0.113.7');
    expect(storedAddress('::ffff:127.0.0.1', 'full')).toBe('127.0.0.1');
    expect(storedAddress('2001:DB8::0001', 'full')).toBe('2001:db8::1');
  });

  test('truncated keeps the /24 or the /48', () => {
    expect(storedAddress('203.0.113.7', 'truncated')).toBe('203.0.113.0');
    expect(storedAddress('::ffff:203.0.113.7', 'truncated')).toBe('203.0.113.0');
    expect(storedAddress('2001:db8:85a3:8d3:1319:8a2e:370:7348', 'truncated')).toBe('2001:db8:85a3::');
  });

  test('none keeps nothing', () => {
    expect(storedAddress('203.0.113.7', 'none')).toBeNull();
    expect(storedAddress('2001:db8::1', 'none')).toBeNull();
  });

  test('no address, or something that is not one, is null under every policy', () => {
    for (const policy of ['full', 'truncated', 'none'] as const) {
      expect(storedAddress(undefined, policy)).toBeNull();
      expect(storedAddress('unknown', policy)).toBeNull();
      expect(storedAddress('', policy)).toBeNull();
    }
  });

  test('isIpStorage', () => {
    expect(['full', 'truncated', 'none', 'FULL', 'partial', ''].map(isIpStorage)).toEqual([true, true, true, false, false, false]);
  });
});

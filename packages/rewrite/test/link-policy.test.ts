import { LinkPolicy } from '../src/link-policy';

const policy = new LinkPolicy({ trackClicks: true, trackingHost: 'click.example.com', excludedDomains: ['Example.ORG', 'shop.example.net.'] });

describe('LinkPolicy', () => {
  test.each(['https://a.example/x', 'http://a.example', 'HTTPS://A.EXAMPLE/X?y#z', 'https://user@a.example:8443/p'])('tracks %s', (url) => {
    expect(policy.decide(url)).toEqual({ action: 'track', url });
  });

  test.each(['mailto:a@b.example', 'tel:+123', '#top', 'javascript:alert(1)', '/relative', 'relative/path', '', 'https://', 'http://[bad', 'ftp://a.example/', '{{unsubscribe_url}}', 'data:text/html,hi'])(
    'keeps %j as it is',
    (url) => {
      expect(policy.decide(url)).toEqual({ action: 'keep' });
    },
  );

  test.each([
    ['https+notrack://postalserver.io', 'https://postalserver.io'],
    ['http+notrack://katapult.io/signup', 'http://katapult.io/signup'],
    ['HTTPS+NoTrack://x.example/a?b', 'HTTPS://x.example/a?b'],
  ])('unwraps %s', (url, plain) => {
    expect(policy.decide(url)).toEqual({ action: 'unwrap', url: plain });
  });

  test('+notrack is unwrapped even when clicks are not tracked', () => {
    const off = new LinkPolicy({ trackClicks: false, trackingHost: 'click.example.com', excludedDomains: [] });
    expect(off.decide('https+notrack://x.example/')).toEqual({ action: 'unwrap', url: 'https://x.example/' });
    expect(off.decide('https://x.example/')).toEqual({ action: 'keep' });
  });

  test.each(['https://example.org/', 'https://EXAMPLE.org./a', 'https://www.example.org:8080/', 'https://a.b.example.org', 'https://shop.example.net/x'])(
    'excluded domain or subdomain %s is not tracked',
    (url) => {
      expect(policy.decide(url)).toEqual({ action: 'keep' });
    },
  );

  test.each(['https://notexample.org/', 'https://example.org.evil.example/', 'https://example.net/', 'https://example.orgx/'])('look-alike %s is tracked', (url) => {
    expect(policy.decide(url).action).toBe('track');
  });

  test('links already on the tracking domain are not wrapped again', () => {
    expect(policy.decide('https://click.example.com/c/abc')).toEqual({ action: 'keep' });
    expect(policy.decide('http://CLICK.example.com./o/abc')).toEqual({ action: 'keep' });
  });
});

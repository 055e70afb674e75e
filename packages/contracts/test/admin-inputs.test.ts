import { InvalidPayloadError } from '../src/payloads';
import { parseNewServerInput, parseNewTrackingDomainInput, parseTrackingDomainHost, parseTrackingDomainUpdateInput } from '../src/admin-inputs';

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
});

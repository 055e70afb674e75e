import { EVENT_TIME_WINDOW, InvalidPayloadError, parseOutboundMessageJob, parseOutboundReadyJob, parseTrackingEvent } from '@mailbeacon/contracts';
import { clickEvent, DAY, fromNow, invalidEvents, invalidMessageJobs, invalidReadyJobs, messageEvent, messageJob, MINUTE, openEvent, raw, readyJob } from './payload-samples';

/** Runs `parse` expecting failure and returns the error, so tests can look at its fields. */
function failure(parse: () => unknown): InvalidPayloadError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidPayloadError);
    return error as InvalidPayloadError;
  }
  throw new Error('expected the payload to be rejected');
}

describe('OutboundMessageJob', () => {
  const job = messageJob;

  it('accepts a full and a minimal job', () => {
    expect(parseOutboundMessageJob(job)).toEqual(job);
    const minimal = { messageId: 'x', server: 's', raw };
    expect(parseOutboundMessageJob(minimal)).toEqual(minimal);
  });

  it('strips unknown keys so producers can add fields first', () => {
    expect(parseOutboundMessageJob({ ...job, addedLater: 1 })).toEqual(job);
  });

  it.each(invalidMessageJobs)('names %s when it is invalid', (field, data) => {
    const error = failure(() => parseOutboundMessageJob(data));
    expect(error.issues.map((issue) => issue.path)).toEqual([field]);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toMatch(/^invalid OutboundMessageJob: /);
  });

  it('names every bad field at once', () => {
    const error = failure(() => parseOutboundMessageJob({ server: 'a b', raw: '@@' }));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['messageId', 'raw', 'server']);
  });

  it('rejects a payload that is not an object', () => {
    expect(failure(() => parseOutboundMessageJob(null)).issues[0].path).toBe('(root)');
    expect(failure(() => parseOutboundMessageJob('{}')).message).toContain('(root)');
  });
});

describe('OutboundReadyJob', () => {
  const job = readyJob;

  it('accepts tracked and untracked messages', () => {
    expect(parseOutboundReadyJob(job)).toEqual(job);
    const skipped = { ...job, tracked: null, skipped: 'no html part' };
    expect(parseOutboundReadyJob(skipped)).toEqual(skipped);
  });

  it.each(invalidReadyJobs)('names %s when it is invalid', (field, data) => {
    const error = failure(() => parseOutboundReadyJob(data));
    expect(error.issues.map((issue) => issue.path)).toEqual([field]);
    expect(error.message).toContain(`${field}: `);
  });
});

describe('tracking events', () => {
  it('accepts each event type and narrows on `type`', () => {
    expect(parseTrackingEvent(messageEvent)).toEqual(messageEvent);
    expect(parseTrackingEvent(openEvent)).toEqual(openEvent);
    const click = parseTrackingEvent(clickEvent);
    expect(click).toEqual(clickEvent);
    if (click.type !== 'click') throw new Error('expected a click');
    expect(click.linkIndex).toBe(1);
  });

  it('accepts timestamps with an offset', () => {
    // An hour ago, written as a clock in UTC+2 shows it.
    const withOffset = `${fromNow(-3_600_000 + 2 * 3_600_000).slice(0, 19)}+02:00`;
    expect(parseTrackingEvent({ ...openEvent, at: withOffset }).at).toBe(withOffset);
  });

  describe('the time window', () => {
    it('accepts late events up to the past bound, and clocks slightly ahead', () => {
      expect(EVENT_TIME_WINDOW).toEqual({ maxAgeDays: 90, maxAheadMinutes: 60 });
      for (const event of [openEvent, clickEvent, messageEvent]) {
        expect(() => parseTrackingEvent({ ...event, at: fromNow(-89 * DAY) })).not.toThrow();
        expect(() => parseTrackingEvent({ ...event, at: fromNow(59 * MINUTE) })).not.toThrow();
      }
    });

    it.each([
      ['the far future', '2999-01-01T00:00:00Z', /^at: must not be more than 60 minutes in the future \(clock skew\); got 2999-01-01T00:00:00Z$/],
      ['the last instant PostgreSQL cannot store', '9999-12-31T23:59:59.999Z', /in the future/],
      ['a clock 2 hours ahead', fromNow(120 * MINUTE), /in the future/],
      ['91 days ago', fromNow(-91 * DAY), /^at: must not be more than 90 days in the past; got /],
      ['the epoch', '1970-01-01T00:00:00Z', /in the past/],
      ['year 0', '0000-01-01T00:00:00Z', /in the past/],
    ])('rejects %s, naming `at` and why', (_what, time, reason) => {
      for (const event of [openEvent, clickEvent, messageEvent]) {
        const error = failure(() => parseTrackingEvent({ ...event, at: time }));
        expect(error.issues).toHaveLength(1);
        expect(`${error.issues[0].path}: ${error.issues[0].message}`).toMatch(reason);
      }
    });
  });

  it('names the discriminator when the type is unknown or missing', () => {
    expect(failure(() => parseTrackingEvent({ ...openEvent, type: 'bounce' })).issues[0].path).toBe('type');
    const { type: _type, ...untyped } = openEvent;
    expect(failure(() => parseTrackingEvent(untyped)).message).toContain('type: ');
  });

  it.each(invalidEvents)('names %s when it is invalid', (field, event) => {
    const error = failure(() => parseTrackingEvent(event));
    expect(error.issues.map((issue) => issue.path)).toEqual([field]);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toMatch(/^invalid TrackingEvent: /);
  });

  it('does not accept click fields as an open (and vice versa)', () => {
    const { linkIndex: _linkIndex, ...clickWithoutLink } = clickEvent;
    expect(failure(() => parseTrackingEvent(clickWithoutLink)).issues[0].path).toBe('linkIndex');
    expect(parseTrackingEvent({ ...clickEvent, type: 'open' })).not.toHaveProperty('url');
  });
});

describe('isBase64', () => {
  const { isBase64 } = jest.requireActual('../src/payloads') as typeof import('../src/payloads');
  test.each(['', 'QQ==', 'QUI=', 'QUJD', Buffer.from('any bytes \u00ff\u0000').toString('base64')])('accepts %j', (v) => expect(isBase64(v)).toBe(true));
  test.each(['Q', 'QQ=', 'QQ==QQ==', 'QU JD', 'QUJD\n', 'QU=D', 'Q===', '-_-_', 'QUJD!'])('rejects %j', (v) => expect(isBase64(v)).toBe(false));
});

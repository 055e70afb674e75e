import { createHash } from 'node:crypto';
import { DEFAULT_QUEUE_PREFIX, hasHashTag, isValidQueuePrefix, jobIdForEvent, jobIdForMessage, QUEUE_NAMES } from '@mailbeacon/contracts';

describe('queue names and prefix', () => {
  it('uses the documented defaults', () => {
    expect(QUEUE_NAMES).toEqual({
      outboundMessages: 'outbound-messages',
      outboundReady: 'outbound-ready',
      trackingEvents: 'tracking-events',
    });
    expect(DEFAULT_QUEUE_PREFIX).toBe('mailbeacon');
  });

  it('accepts Redis Cluster hash tags but not ":"', () => {
    expect(isValidQueuePrefix(DEFAULT_QUEUE_PREFIX)).toBe(true);
    expect(isValidQueuePrefix('{mb}')).toBe(true);
    expect(isValidQueuePrefix('mail:beacon')).toBe(false);
    expect(isValidQueuePrefix('')).toBe(false);
  });

  it('hasHashTag: what Redis Cluster hashes instead of the whole key (the first {…}, not empty)', () => {
    for (const prefix of ['{mb}', 'mail{beacon}', '{a}{b}', '{mb}x}']) expect(hasHashTag(prefix)).toBe(true);
    for (const prefix of ['mailbeacon', '{}', '{}{mb}', 'mb{', 'mb}{', '']) expect(hasHashTag(prefix)).toBe(false);
  });
});

describe('jobIdForMessage', () => {
  const ids = [
    '<0102018c3d4e5f60-abcdef@us-east-1.amazonses.com>',
    'a:b:c',
    '::',
    '12345',
    'msg.abc',
    'sha256.x',
    'é',
    'e\u0301',
    '\u{1F600}',
    '\uD800',
    '\uD801',
    'x'.repeat(96),
    'x'.repeat(97),
    'x'.repeat(998),
    'y'.repeat(998),
  ];

  it('never contains ":" and is never an integer (BullMQ rejects both)', () => {
    for (const id of ids) {
      const jobId = jobIdForMessage(id);
      expect(jobId).not.toContain(':');
      expect(String(parseInt(jobId, 10))).not.toBe(jobId);
    }
  });

  it('is deterministic across calls and processes', () => {
    expect(jobIdForMessage('abc')).toBe('msg.YWJj');
    expect(jobIdForMessage('<a@b>')).toBe(`msg.${Buffer.from('<a@b>').toString('base64url')}`);
    for (const id of ids) expect(jobIdForMessage(id)).toBe(jobIdForMessage(id));
  });

  it('gives distinct ids for distinct message ids, including lone surrogates and both encodings', () => {
    const jobIds = ids.map(jobIdForMessage);
    expect(new Set(jobIds).size).toBe(ids.length);
  });

  it('hashes long ids to a short id', () => {
    const jobId = jobIdForMessage('x'.repeat(998));
    expect(jobId).toMatch(/^msg\.sha256\.[A-Za-z0-9_-]{43}$/);
    expect(jobId).toBe(`msg.sha256.${createHash('sha256').update(Buffer.from('x'.repeat(998), 'utf16le')).digest('base64url')}`);
    expect(jobIdForMessage('x'.repeat(96))).toMatch(/^msg\.[A-Za-z0-9_-]+$/);
  });

  it('rejects an empty id', () => {
    expect(() => jobIdForMessage('')).toThrow(RangeError);
  });
});

describe('jobIdForEvent', () => {
  const v4 = '6f1c1c52-3b7e-4c1a-9d0e-2b5f8f6e2a11';
  const v7 = '01890a5d-ac96-774b-bcce-b302099a8057';

  it('keeps the UUID readable, without ":"', () => {
    expect(jobIdForEvent(v4)).toBe(`event.${v4}`);
    expect(jobIdForEvent(v7)).toBe(`event.${v7}`);
    expect(jobIdForEvent(v7)).not.toContain(':');
    expect(jobIdForEvent(v4)).not.toBe(jobIdForEvent(v7));
  });

  it('rejects anything that is not a UUID', () => {
    expect(() => jobIdForEvent('not-a-uuid')).toThrow(RangeError);
    expect(() => jobIdForEvent('a:b')).toThrow(/UUID/);
  });
});

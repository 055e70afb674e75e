import { jsonSchemaFiles, jsonSchemaText, outboundMessageJobSchema, outboundReadyJobSchema, trackingEventSchema } from '@mailbeacon/contracts';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';

/* The committed JSON Schema files: up to date, and judging samples as the validators do. */

const SCHEMA_DIRECTORY = join(__dirname, '..', 'schema');

describe('the committed JSON Schema files', () => {
  it('are exactly what `npm run schemas` writes now (run it after changing payloads.ts)', () => {
    const expected = jsonSchemaFiles();
    expect(readdirSync(SCHEMA_DIRECTORY).sort()).toEqual(expected.map((file) => file.fileName).sort());
    for (const file of expected) {
      expect({ file: file.fileName, text: readFileSync(join(SCHEMA_DIRECTORY, file.fileName), 'utf8') }).toEqual({ file: file.fileName, text: jsonSchemaText(file) });
    }
  });
});

// ---- samples ------------------------------------------------------------------------

const raw = Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello \xff\r\n', 'latin1').toString('base64');
const messageToken = 'AbCdEfGhIjKlMnOp_-12';
const at = new Date(Date.now() - 3_600_000).toISOString();

const messageJob = { messageId: '<a1@mail.example.com>', server: 'srv_1-A', raw, trackingDomain: 'click.example.com', recipient: 'b@example.com', tag: 'welcome' };
const readyJob = { messageId: '<a1@mail.example.com>', messageToken, raw, tracked: { links: 3, pixel: true } };
const messageEvent = {
  type: 'message',
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  messageToken,
  server: 'srv',
  platformMessageId: '<a1@x>',
  recipient: 'b@example.com',
  tag: 'welcome',
  trackingDomain: 'click.example.com',
  links: [
    { index: 0, url: 'https://example.com/a' },
    { index: 1, url: 'HTTP://EXAMPLE.COM/b?c=d' },
  ],
  pixel: true,
  at,
};
const openEvent = { type: 'open', id: '6f1c1c52-3b7e-4c1a-9d0e-2b5f8f6e2a11', server: 'srv', messageToken, at, ip: '203.0.113.0', userAgent: 'Mozilla/5.0', method: 'GET', proxy: 'apple' };
const clickEvent = { ...openEvent, type: 'click', id: '6F1C1C52-3B7E-1C1A-8D0E-2B5F8F6E2A11', ip: null, userAgent: null, method: 'HEAD', linkIndex: 1, url: 'http://example.com/b' };
const { messageId: _messageId, ...jobWithoutMessageId } = messageJob;
const { tracked: _tracked, ...readyWithoutTracked } = readyJob;
const { type: _type, ...untypedOpen } = openEvent;
const { linkIndex: _linkIndex, ...clickWithoutLink } = clickEvent;

type Sample = [name: string, data: unknown];

const SAMPLES: { title: string; fileName: string; validator: z.ZodType; valid: Sample[]; invalid: Sample[] }[] = [
  {
    title: 'OutboundMessageJob',
    fileName: 'outbound-message-job.schema.json',
    validator: outboundMessageJobSchema,
    valid: [
      ['a full job', messageJob],
      ['a minimal job', { messageId: 'x', server: 's', raw: 'QQ==' }],
      ['unknown keys (a newer producer)', { ...messageJob, addedLater: { any: 1 } }],
      ['a tracking host with a trailing dot', { ...messageJob, trackingDomain: 'click.example.com.' }],
    ],
    invalid: [
      ['no messageId', jobWithoutMessageId],
      ['an empty messageId', { ...messageJob, messageId: '' }],
      ['a messageId of 999 characters', { ...messageJob, messageId: 'x'.repeat(999) }],
      ['a server token with a space', { ...messageJob, server: 'has space' }],
      ['a server token of 65 characters', { ...messageJob, server: 'x'.repeat(65) }],
      ['raw not base64', { ...messageJob, raw: 'not base64!' }],
      ['raw empty', { ...messageJob, raw: '' }],
      ['raw unpadded', { ...messageJob, raw: 'QQ' }],
      ['raw with a line break', { ...messageJob, raw: 'QUJD\n' }],
      ['raw with padding inside', { ...messageJob, raw: 'QU=D' }],
      ['raw in base64url', { ...messageJob, raw: '-_-_' }],
      ['a URL as tracking domain', { ...messageJob, trackingDomain: 'https://click.example.com' }],
      ['a number as recipient', { ...messageJob, recipient: 42 }],
      ['a null tag', { ...messageJob, tag: null }],
      ['null', null],
      ['a JSON string', JSON.stringify(messageJob)],
    ],
  },
  {
    title: 'OutboundReadyJob',
    fileName: 'outbound-ready-job.schema.json',
    validator: outboundReadyJobSchema,
    valid: [
      ['a tracked message', readyJob],
      ['an untracked message', { ...readyJob, tracked: null, skipped: 'dkim-signed: the message is DKIM-signed' }],
    ],
    invalid: [
      ['a short message token', { ...readyJob, messageToken: 'short' }],
      ['raw with spaces', { ...readyJob, raw: 'a b c' }],
      ['no tracked', readyWithoutTracked],
      ['negative links', { ...readyJob, tracked: { links: -1, pixel: true } }],
      ['fractional links', { ...readyJob, tracked: { links: 1.5, pixel: true } }],
      ['pixel as a string', { ...readyJob, tracked: { links: 1, pixel: 'yes' } }],
      ['skipped as a number', { ...readyJob, skipped: 1 }],
    ],
  },
  {
    title: 'TrackingEvent',
    fileName: 'tracking-event.schema.json',
    validator: trackingEventSchema,
    valid: [
      ['a message event', messageEvent],
      ['a message event with no links', { ...messageEvent, links: [], pixel: false }],
      ['an open', openEvent],
      ['a click', clickEvent],
      ['a click given as an open (its click fields are ignored)', { ...clickEvent, type: 'open' }],
      ['a time with an offset', { ...openEvent, at: `${new Date(Date.now() - 3_600_000 + 7_200_000).toISOString().slice(0, 19)}+02:00` }],
      ['unknown keys', { ...openEvent, country: 'NL' }],
    ],
    invalid: [
      ['an unknown type', { ...openEvent, type: 'bounce' }],
      ['no type', untypedOpen],
      ['an id that is not a UUID', { ...openEvent, id: 'not-a-uuid' }],
      ['a date without a time', { ...openEvent, at: at.slice(0, 10) }],
      ['a time without a zone', { ...openEvent, at: at.slice(0, 19) }],
      ['a time in words', { ...openEvent, at: 'yesterday' }],
      ['a POST', { ...openEvent, method: 'POST' }],
      ['no ip', { ...openEvent, ip: undefined }],
      ['a number as user agent', { ...openEvent, userAgent: 7 }],
      ['a bad message token', { ...openEvent, messageToken: 'bad token with spaces' }],
      ['a bad server token', { ...openEvent, server: 'a/b' }],
      ['a purpose of 257 characters', { ...openEvent, purpose: 'x'.repeat(257) }],
      ['a negative link index', { ...clickEvent, linkIndex: -1 }],
      ['a link index past PostgreSQL integers', { ...clickEvent, linkIndex: 2 ** 31 }],
      ['a fractional link index', { ...clickEvent, linkIndex: 0.5 }],
      ['a click without its link index', clickWithoutLink],
      ['a javascript: URL', { ...clickEvent, url: 'javascript:alert(1)' }],
      ['a URL without a host', { ...clickEvent, url: 'https://' }],
      ['a relative URL', { ...clickEvent, url: '//example.com/a' }],
      ['an ftp link', { ...messageEvent, links: [messageEvent.links[0], { index: 1, url: 'ftp://example.com' }] }],
      ['a link index as a word', { ...messageEvent, links: [{ index: 'zero', url: 'https://example.com' }] }],
      ['no tracking domain', { ...messageEvent, trackingDomain: undefined }],
      ['an empty platform message id', { ...messageEvent, platformMessageId: '' }],
      ['pixel as a string', { ...messageEvent, pixel: 'true' }],
    ],
  },
];

function publishedValidator(fileName: string) {
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(SCHEMA_DIRECTORY, fileName), 'utf8')) as object);
}

describe.each(SAMPLES)('$title: the JSON Schema and the validator agree', ({ fileName, validator, valid, invalid }) => {
  const schema = publishedValidator(fileName);

  it.each(valid)('both accept %s', (_name, data) => {
    expect({ code: validator.safeParse(data).success, schema: schema(data), errors: schema.errors ?? null }).toEqual({ code: true, schema: true, errors: null });
  });

  it.each(invalid)('both reject %s', (_name, data) => {
    expect({ code: validator.safeParse(data).success, schema: schema(data) }).toEqual({ code: false, schema: false });
  });
});

describe('what only the code checks (documented in docs/formats.md)', () => {
  const schema = publishedValidator('tracking-event.schema.json');

  it.each([
    ['a time far in the future (the event time window is relative to now)', { ...openEvent, at: '2999-01-01T00:00:00Z' }],
    ['a time long past', { ...openEvent, at: '2000-01-01T00:00:00Z' }],
    ['a URL that does not parse (the code parses it as a browser would)', { ...clickEvent, url: 'http://exa mple.com/' }],
  ])('%s: the schema accepts it, the validator rejects it', (_name, data) => {
    expect({ code: trackingEventSchema.safeParse(data).success, schema: schema(data) }).toEqual({ code: false, schema: true });
  });
});

import { jsonSchemaFiles, jsonSchemaText, outboundMessageJobSchema, outboundReadyJobSchema, trackingEventSchema } from '@mailbeacon/contracts';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { clickEvent, extraSlashUrls, fromNow, invalidEvents, invalidMessageJobs, invalidReadyJobs, messageEvent, messageJob, openEvent, readyJob, type InvalidSample } from './payload-samples';

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

type Sample = [name: string, data: unknown];

const SAMPLES: { title: string; fileName: string; validator: z.ZodType; valid: Sample[]; invalid: InvalidSample[] }[] = [
  {
    title: 'OutboundMessageJob',
    fileName: 'outbound-message-job.schema.json',
    validator: outboundMessageJobSchema,
    valid: [
      ['a full job', messageJob],
      ['a minimal job', { messageId: 'x', server: 's', raw: 'QQ==' }],
      ['a message with 8-bit bytes', { ...messageJob, raw: Buffer.from('Subject: caf\xe9\r\n\r\n\xff\x00', 'latin1').toString('base64') }],
      ['unknown keys (a newer producer)', { ...messageJob, addedLater: { any: 1 } }],
      ['a tracking host with a trailing dot', { ...messageJob, trackingDomain: 'click.example.com.' }],
    ],
    invalid: invalidMessageJobs,
  },
  {
    title: 'OutboundReadyJob',
    fileName: 'outbound-ready-job.schema.json',
    validator: outboundReadyJobSchema,
    valid: [
      ['a tracked message', readyJob],
      ['an untracked message', { ...readyJob, tracked: null, skipped: 'dkim-signed: the message is DKIM-signed' }],
    ],
    invalid: invalidReadyJobs,
  },
  {
    title: 'TrackingEvent',
    fileName: 'tracking-event.schema.json',
    validator: trackingEventSchema,
    valid: [
      ['a message event', messageEvent],
      ['a message event with an upper-case URL scheme', { ...messageEvent, links: [{ index: 0, url: 'HTTP://EXAMPLE.COM/b' }] }],
      ...extraSlashUrls.map(([name, url]): Sample => [`a click to ${name}`, { ...clickEvent, url }]),
      ['a message event with no links', { ...messageEvent, links: [], pixel: false }],
      ['an open', openEvent],
      ['a click', clickEvent],
      ['a click with an upper-case id', { ...clickEvent, id: clickEvent.id.toUpperCase() }],
      ['a click given as an open (its click fields are ignored)', { ...clickEvent, type: 'open' }],
      ['a time with an offset (an hour ago in UTC+2)', { ...openEvent, at: `${fromNow(-3_600_000 + 2 * 3_600_000).slice(0, 19)}+02:00` }],
      ['unknown keys', { ...openEvent, country: 'NL' }],
    ],
    invalid: invalidEvents,
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

  it.each(invalid)('both reject a bad %s', (_field, data) => {
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

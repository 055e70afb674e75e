import type { ClickEvent, OpenEvent, OutboundMessageJob, OutboundReadyJob, TrackedMessageEvent } from '@mailbeacon/contracts';

/* One valid sample of each job and event, for the validator tests and the JSON Schema tests. */

export const MINUTE = 60_000;
export const DAY = 86_400_000;
/** An ISO time this far from now (events must be recent, see EVENT_TIME_WINDOW). */
export const fromNow = (ms: number): string => new Date(Date.now() + ms).toISOString();

export const raw = Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n').toString('base64');
export const messageToken = 'AbCdEfGhIjKlMnOp_-12';
export const at = fromNow(-3_600_000);

export const messageJob: OutboundMessageJob = {
  messageId: '<a1@mail.example.com>',
  server: 'srv_1-A',
  raw,
  trackingDomain: 'click.example.com',
  recipient: 'b@example.com',
  tag: 'welcome',
};

export const readyJob: OutboundReadyJob = { messageId: '<a1@x>', messageToken, raw, tracked: { links: 3, pixel: true } };

export const messageEvent: TrackedMessageEvent = {
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
    { index: 1, url: 'http://example.com/b?c=d' },
  ],
  pixel: true,
  at,
};
export const openEvent: OpenEvent = {
  type: 'open',
  id: '6f1c1c52-3b7e-4c1a-9d0e-2b5f8f6e2a11',
  server: 'srv',
  messageToken,
  at,
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0',
  method: 'GET',
  proxy: 'apple-mpp',
};
export const clickEvent: ClickEvent = {
  ...openEvent,
  type: 'click',
  id: '6f1c1c52-3b7e-1c1a-8d0e-2b5f8f6e2a11',
  ip: null,
  userAgent: null,
  method: 'HEAD',
  linkIndex: 1,
  url: 'http://example.com/b?c=d',
};


/** URLs a browser reads with the slashes after `https://` ignored: valid destinations (review of issue 10). */
export const extraSlashUrls: [name: string, url: string][] = [
  ['a URL with three slashes', 'https:///x.example/'],
  ['a URL with a backslash before its host', 'https://\\x.example/a'],
];

const { messageId: _messageId, ...jobWithoutMessageId } = messageJob;
const { tracked: _tracked, ...readyWithoutTracked } = readyJob;
const { type: _type, ...untypedOpen } = openEvent;
const { linkIndex: _linkIndex, ...clickWithoutLink } = clickEvent;

/** An invalid sample and the one field the validator must name for it. */
export type InvalidSample = [field: string, data: unknown];

export const invalidMessageJobs: InvalidSample[] = [
  ['messageId', jobWithoutMessageId],
  ['messageId', { ...messageJob, messageId: '' }],
  ['messageId', { ...messageJob, messageId: 'x'.repeat(999) }],
  ['server', { ...messageJob, server: 'has space' }],
  ['server', { ...messageJob, server: 'x'.repeat(65) }],
  ['raw', { ...messageJob, raw: 'not base64!' }],
  ['raw', { ...messageJob, raw: '' }],
  ['raw', { ...messageJob, raw: 'QQ' }],
  ['raw', { ...messageJob, raw: 'QUJD\n' }],
  ['raw', { ...messageJob, raw: 'QU=D' }],
  ['raw', { ...messageJob, raw: '-_-_' }],
  ['trackingDomain', { ...messageJob, trackingDomain: 'https://click.example.com' }],
  ['recipient', { ...messageJob, recipient: 42 }],
  ['tag', { ...messageJob, tag: null }],
  ['(root)', null],
  ['(root)', JSON.stringify(messageJob)],
];

export const invalidReadyJobs: InvalidSample[] = [
  ['messageToken', { ...readyJob, messageToken: 'short' }],
  ['raw', { ...readyJob, raw: 'a b c' }],
  ['tracked', readyWithoutTracked],
  ['tracked.links', { ...readyJob, tracked: { links: -1, pixel: true } }],
  ['tracked.links', { ...readyJob, tracked: { links: 1.5, pixel: true } }],
  ['tracked.pixel', { ...readyJob, tracked: { links: 1, pixel: 'yes' } }],
  ['skipped', { ...readyJob, skipped: 1 }],
];

export const invalidEvents: InvalidSample[] = [
  ['type', { ...openEvent, type: 'bounce' }],
  ['type', untypedOpen],
  ['id', { ...openEvent, id: 'not-a-uuid' }],
  ['at', { ...openEvent, at: at.slice(0, 10) }],
  ['at', { ...openEvent, at: at.slice(0, 19) }],
  ['at', { ...openEvent, at: 'yesterday' }],
  ['method', { ...openEvent, method: 'POST' }],
  ['ip', { ...openEvent, ip: undefined }],
  ['userAgent', { ...openEvent, userAgent: 7 }],
  ['messageToken', { ...openEvent, messageToken: 'bad token with spaces' }],
  ['server', { ...openEvent, server: 'a/b' }],
  ['purpose', { ...openEvent, purpose: 'x'.repeat(257) }],
  ['linkIndex', { ...clickEvent, linkIndex: -1 }],
  ['linkIndex', { ...clickEvent, linkIndex: 2 ** 31 }],
  ['linkIndex', { ...clickEvent, linkIndex: 0.5 }],
  ['linkIndex', clickWithoutLink],
  ['url', { ...clickEvent, url: 'javascript:alert(1)' }],
  ['url', { ...clickEvent, url: 'https://' }],
  ['url', { ...clickEvent, url: 'https:///?x' }],
  ['url', { ...clickEvent, url: '//example.com/a' }],
  ['links[1].url', { ...messageEvent, links: [messageEvent.links[0], { index: 1, url: 'ftp://example.com' }] }],
  ['links[0].index', { ...messageEvent, links: [{ index: 'zero', url: 'https://example.com' }] }],
  ['trackingDomain', { ...messageEvent, trackingDomain: undefined }],
  ['platformMessageId', { ...messageEvent, platformMessageId: '' }],
  ['pixel', { ...messageEvent, pixel: 'true' }],
];

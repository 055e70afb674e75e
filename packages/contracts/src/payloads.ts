import { isHttpDestination, MESSAGE_TOKEN_PATTERN, SERVER_TOKEN_PATTERN } from '@mailbeacon/links';
import { z } from 'zod';

/*
 * Everything that crosses a queue is validated on the way in: producers and consumers are
 * deployed separately, so a job can outlive the code that wrote it. Unknown keys are
 * stripped rather than rejected, so a producer may add fields before consumers know them.
 */

export interface PayloadIssue {
  /** e.g. `links[0].url`, or `(root)` when the payload itself is wrong. */
  readonly path: string;
  readonly message: string;
}

export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';

  constructor(
    readonly payload: string,
    readonly issues: readonly PayloadIssue[],
  ) {
    super(`invalid ${payload}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** Validates data against a schema; an InvalidPayloadError names every bad field. */
export function parseWith<S extends z.ZodType>(payload: string, schema: S, data: unknown): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new InvalidPayloadError(
    payload,
    result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  );
}

// ---- shared fields -------------------------------------------------------------------

/**
 * Standard base64 with padding. Messages are large, so this costs one native decode: Node's
 * decoder skips characters outside the alphabet, and then fewer bytes come out than the
 * length promises. (zod's check decodes with atob and scans with a regex: ~3x slower.)
 */
export function isBase64(value: string): boolean {
  if (value.length % 4 !== 0 || value.includes('-') || value.includes('_')) return false;
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return Buffer.from(value, 'base64').length === (value.length / 4) * 3 - padding;
}

/*
 * The descriptions (and the patterns given for checks written as code) go into the published
 * JSON Schema files (see json-schemas.ts), for platforms that are not written in TypeScript.
 */

/** What isBase64 accepts, as a JSON Schema pattern. */
const BASE64_PATTERN = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
/**
 * isHttpDestination's first test, as a JSON Schema pattern (it also parses the URL: see
 * docs/formats.md). Loose enough to accept every URL the code does: a browser skips any `/`
 * and `\` after `https://` (`https:///x.example/` is x.example), then needs a host.
 */
const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://[/\\\\]*[^/\\\\?#]';

const messageId = z.string().min(1).max(998).meta({ description: "The platform's own id for the message (1-998 characters), e.g. its Message-ID." });
const serverToken = z
  .string()
  .regex(SERVER_TOKEN_PATTERN, 'must be a server token (1-64 of A-Z a-z 0-9 _ -)')
  .meta({ description: "The sending server's token (`mailbeacon servers add`)." });
const messageToken = z
  .string()
  .regex(MESSAGE_TOKEN_PATTERN, 'must be a message token (16-64 of A-Z a-z 0-9 _ -)')
  .meta({ description: "mailbeacon's id for the message, in its tracking URLs (derived from server, messageId and the signing key)." });
/** Raw RFC 5322 messages travel as base64 so 8-bit and binary content survives JSON. */
const rawMessage = z
  .string()
  .min(1, 'must not be empty')
  .refine(isBase64, 'must be base64 (the raw RFC 5322 message)')
  .meta({ description: 'The whole RFC 5322 message, standard base64 with padding, no line breaks.', pattern: BASE64_PATTERN, contentEncoding: 'base64' });
const trackingDomain = z.hostname('must be a hostname').meta({ description: 'A tracking host, e.g. click.example.com.' });
/** Any RFC 4122 / 9562 UUID, including v7 (time-ordered ids suit the events table). */
const eventId = z.uuid('must be a UUID').meta({ description: "The event's UUID (v7 from the tracker, v5 of the message token from the rewriter); one event, one id." });
const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp' });

/**
 * How far from the validating clock an event's `at` may be. Events are legitimately late (a
 * tracker's spool replayed after a long Redis outage, a job retried by BullMQ for ~6 days,
 * failed jobs retried by an operator), so the past bound is generous: the default retention.
 * Clocks only drift, so the future bound is small — but wide enough that a tracker whose clock
 * is minutes ahead of the aggregator's never has its good events failed (an hour: far beyond
 * any clock kept by NTP, far short of anything absurd). Beyond them the time is a bug or an
 * attack: a year-2999 partition, `last_opened_at` stuck in the future, a time PostgreSQL
 * cannot store. See docs/formats.md#event-times.
 */
export const EVENT_TIME_WINDOW = Object.freeze({ maxAgeDays: 90, maxAheadMinutes: 60 });

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

function isWithinEventWindow(value: string): boolean {
  const at = Date.parse(value);
  const now = Date.now();
  return at >= now - EVENT_TIME_WINDOW.maxAgeDays * DAY_MS && at <= now + EVENT_TIME_WINDOW.maxAheadMinutes * MINUTE_MS;
}

function eventWindowMessage(value: string): string {
  return Date.parse(value) > Date.now()
    ? `must not be more than ${EVENT_TIME_WINDOW.maxAheadMinutes} minutes in the future (clock skew); got ${value}`
    : `must not be more than ${EVENT_TIME_WINDOW.maxAgeDays} days in the past; got ${value}`;
}

/** An event's time: a timestamp within EVENT_TIME_WINDOW of now (checked only once it is a timestamp). */
const eventTime = timestamp
  .refine(isWithinEventWindow, {
    error: (issue) => eventWindowMessage(issue.input as string),
    when: (payload) => payload.issues.length === 0,
  })
  .meta({
    description: `When it happened, ISO 8601 with Z or an offset. The consumer rejects a time more than ${EVENT_TIME_WINDOW.maxAgeDays} days before or ${EVENT_TIME_WINDOW.maxAheadMinutes} minutes after its own clock (not expressible in JSON Schema).`,
  });
/** Stored as a PostgreSQL integer: a larger index could never be written. */
const linkIndex = z.number().int().nonnegative().max(2_147_483_647).meta({ description: "The link's number in its message (the same destination shares one)." });
/** The same rule the signer and the tracker apply: only http(s) destinations are ever tracked. */
const httpUrl = z
  .string()
  .refine(isHttpDestination, 'must be an absolute http(s) URL')
  .meta({ description: 'The destination: an absolute http(s) URL.', pattern: HTTP_URL_PATTERN });
const recipient = z.string().meta({ description: 'The recipient, as the platform wants it in the statistics.' });
const tag = z.string().meta({ description: 'A campaign or category, for the statistics.' });

// ---- jobs ----------------------------------------------------------------------------

/** What a mail platform hands over for tracking (queue `outbound-messages`). */
export const outboundMessageJobSchema = z.object({
  messageId,
  server: serverToken,
  raw: rawMessage,
  trackingDomain: trackingDomain.optional().meta({ description: "Use this tracking domain (it must be one of the server's); absent: the one matching the From domain." }),
  recipient: recipient.optional(),
  tag: tag.optional(),
});
export type OutboundMessageJob = z.infer<typeof outboundMessageJobSchema>;
export function parseOutboundMessageJob(data: unknown): OutboundMessageJob {
  return parseWith('OutboundMessageJob', outboundMessageJobSchema, data);
}

/** The rewritten message, ready to send (queue `outbound-ready`). */
export const outboundReadyJobSchema = z.object({
  messageId,
  messageToken,
  raw: rawMessage,
  tracked: z
    .object({
      links: z.number().int().nonnegative().meta({ description: 'Distinct tracked links.' }),
      pixel: z.boolean().meta({ description: 'Whether an open pixel was added.' }),
    })
    .nullable()
    .meta({ description: 'What was instrumented; null when the message goes out untouched.' }),
  skipped: z.string().optional().meta({ description: 'Why the message was left untracked: `<code>: <explanation>`, e.g. `dkim-signed: …`.' }),
});
export type OutboundReadyJob = z.infer<typeof outboundReadyJobSchema>;
export function parseOutboundReadyJob(data: unknown): OutboundReadyJob {
  return parseWith('OutboundReadyJob', outboundReadyJobSchema, data);
}

// ---- tracking events (queue `tracking-events`) ---------------------------------------

/** Emitted by the rewriter: lets the aggregator map a message token back to the platform's message. */
export const trackedMessageEventSchema = z.object({
  type: z.literal('message'),
  id: eventId,
  messageToken,
  server: serverToken,
  platformMessageId: messageId,
  recipient: recipient.optional(),
  tag: tag.optional(),
  trackingDomain,
  links: z.array(z.object({ index: linkIndex, url: httpUrl })).meta({ description: 'Every tracked link of the message.' }),
  pixel: z.boolean().meta({ description: 'Whether an open pixel was added.' }),
  at: eventTime,
});

/** Fields the tracker records for every hit, whatever was hit. */
const hitFields = {
  id: eventId,
  server: serverToken,
  messageToken,
  at: eventTime,
  ip: z.string().nullable().meta({ description: "The client's address as the tracker's IP_STORAGE keeps it (full, truncated to /24 or /48), or null." }),
  userAgent: z.string().nullable().meta({ description: 'The User-Agent header, or null when absent.' }),
  /** HEAD hits are usually link scanners; kept so the aggregator can tell. */
  method: z.enum(['GET', 'HEAD']).meta({ description: 'The HTTP method (HEAD hits are usually link scanners).' }),
  proxy: z.string().optional().meta({ description: 'Name of a known image proxy or scanner when detected.' }),
  purpose: z.string().max(256).optional().meta({ description: 'The Sec-Purpose (or legacy Purpose) header: browsers mark prefetches and previews with it.' }),
};

export const openEventSchema = z.object({ type: z.literal('open'), ...hitFields });

export const clickEventSchema = z.object({ type: z.literal('click'), ...hitFields, linkIndex, url: httpUrl });

export const trackingEventSchema = z.discriminatedUnion('type', [trackedMessageEventSchema, openEventSchema, clickEventSchema]);

export type TrackedMessageEvent = z.infer<typeof trackedMessageEventSchema>;
export type OpenEvent = z.infer<typeof openEventSchema>;
export type ClickEvent = z.infer<typeof clickEventSchema>;
export type TrackingEvent = z.infer<typeof trackingEventSchema>;
export type TrackingEventType = TrackingEvent['type'];

export function parseTrackingEvent(data: unknown): TrackingEvent {
  return parseWith('TrackingEvent', trackingEventSchema, data);
}

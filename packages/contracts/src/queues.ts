import { createHash } from 'node:crypto';
import { z } from 'zod';

/*
 * Where the apps meet in Redis. The rewriter worker consumes `outbound-messages` and
 * produces `outbound-ready`; the rewriter and the tracker produce `tracking-events`,
 * which the aggregator consumes. Names are defaults: deployments may override them.
 */
export const QUEUE_NAMES = {
  outboundMessages: 'outbound-messages',
  outboundReady: 'outbound-ready',
  trackingEvents: 'tracking-events',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** BullMQ key prefix. For Redis Cluster use a hash tag such as `{mb}` so a queue's keys share a slot. */
export const DEFAULT_QUEUE_PREFIX = 'mailbeacon';

/** BullMQ joins prefix, queue name and job id with ':', so a prefix containing ':' would be ambiguous. */
export function isValidQueuePrefix(prefix: string): boolean {
  return prefix.length > 0 && !prefix.includes(':');
}

/**
 * Whether Redis Cluster hashes keys starting with `prefix` by a hash tag in it: the first `{`
 * followed by a non-empty text and `}` (`{mb}`, `mail{beacon}`), as Redis reads one.
 */
export function hasHashTag(prefix: string): boolean {
  return /^[^{]*\{[^}]+\}/.test(prefix);
}

/** What is wrong with a prefix without a hash tag on Redis Cluster (BullMQ's scripts would fail with CROSSSLOT). */
export const CLUSTER_PREFIX_RULE = "must contain a hash tag such as {mb} on Redis Cluster, so that each queue's keys share a slot";

/*
 * Job ids make enqueueing idempotent: a platform retrying the same message, or the tracker
 * retrying the same event, lands on the same job and BullMQ drops the duplicate. BullMQ
 * rejects custom ids that contain ':' or look like integers, and platform message ids may
 * contain anything (RFC 5322 Message-IDs are full of '@', '<', '.' ...), so they are encoded.
 */

/** Short ids stay reversible (handy in a queue dashboard); longer ones are hashed to keep Redis keys small. */
const MAX_READABLE_ID_BYTES = 96;
/** In unicode mode this only matches unpaired surrogates, which UTF-8 cannot encode losslessly. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * `msg.<base64url of the UTF-8 id>`, or `msg.sha256.<base64url digest>` when long.
 * The two forms cannot collide: base64url never contains '.'. The hash covers the UTF-16
 * code units, so even ids with unpaired surrogates stay distinct.
 */
export function jobIdForMessage(messageId: string): string {
  if (typeof messageId !== 'string' || messageId.length === 0) {
    throw new RangeError('a message id must be a non-empty string');
  }
  const utf8 = Buffer.from(messageId, 'utf8');
  if (utf8.length <= MAX_READABLE_ID_BYTES && !LONE_SURROGATE.test(messageId)) {
    return `msg.${utf8.toString('base64url')}`;
  }
  return `msg.sha256.${createHash('sha256').update(Buffer.from(messageId, 'utf16le')).digest('base64url')}`;
}

const uuid = z.uuid();

/** `event.<uuid>`: event ids are UUIDs, which are already safe job ids, so they stay readable. */
export function jobIdForEvent(eventId: string): string {
  if (!uuid.safeParse(eventId).success) {
    throw new RangeError(`an event id must be a UUID, got ${JSON.stringify(eventId)}`);
  }
  return `event.${eventId}`;
}

/**
 * How every producer adds a tracking event (the rewriter's `message` events, the tracker's
 * opens and clicks): retried for a long while (the aggregator may be down), and kept a day
 * after completion so an event added again within it (a retry, a spool replay) is dropped.
 * Plain BullMQ JobsOptions, without the job id (always the event's, see jobIdForEvent).
 */
export const TRACKING_EVENT_JOB_OPTIONS = Object.freeze({
  attempts: 20,
  backoff: Object.freeze({ type: 'exponential' as const, delay: 1000 }),
  removeOnComplete: Object.freeze({ age: 86_400 }),
  removeOnFail: false,
});

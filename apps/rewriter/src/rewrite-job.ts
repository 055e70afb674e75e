import {
  InvalidPayloadError,
  TRACKING_EVENT_JOB_OPTIONS,
  jobIdForEvent,
  jobIdForMessage,
  parseOutboundMessageJob,
  type OutboundMessageJob,
  type OutboundReadyJob,
  type TrackedMessageEvent,
} from '@mailbeacon/contracts';
import type { TrackingDomain } from '@mailbeacon/db';
import { senderDomain, type Selection } from '@mailbeacon/domains';
import { messageTokenFor, SERVER_TOKEN_PATTERN, type KeyRing } from '@mailbeacon/links';
import type { RewriteResult } from '@mailbeacon/rewrite';
import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import { v5 as uuidv5 } from 'uuid';
import type { RewritePool } from './rewrite-pool';

/** Fixed namespace for message-event ids: the same message token always gives the same event id. */
const MESSAGE_EVENT_NAMESPACE = '0f6b2a52-6d3e-4c55-9a43-3c4e1f0b8d21';

const READY_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  // Kept a day: a rewrite retried within it finds its result there and adds nothing twice.
  removeOnComplete: { age: 86_400 },
  removeOnFail: false,
};

export interface RewriteJobDeps {
  keys: KeyRing;
  /** The tracking domain for a message (TrackingDomainCache.trackingDomainFor), or undefined when no server has this token. */
  trackingDomainFor(server: string, senderDomain: string | undefined, explicit?: string): Promise<Selection<TrackingDomain> | undefined>;
  pool: RewritePool;
  ready: Queue;
  events: Queue;
  signsAfterTracking: boolean;
  maxMessageBytes: number;
  logger: Logger;
}

export interface RewriteJobOutcome {
  messageToken: string;
  links: number;
  pixel: boolean;
  skipped?: string;
}

function sender(raw: Buffer): string | undefined {
  try {
    return senderDomain(raw);
  } catch {
    return undefined;
  }
}

/**
 * One outbound message: validate, pick its tracking domain, rewrite, then hand it back on
 * `outbound-ready` and announce it on `tracking-events`. Every output has an id derived from
 * the platform's message id, so a retried or re-run job adds nothing twice.
 */
export class RewriteJob {
  constructor(private readonly deps: RewriteJobDeps) {}

  /**
   * The logger for every line about `job`: its id, the platform's message id and, once the
   * job is known to be valid, the message token (what the tracking URLs and the aggregator's
   * tables carry) and the server.
   */
  loggerFor(job: Pick<Job, 'id' | 'data'>): Logger {
    // Only the two fields the names need are checked: validating the whole job would decode
    // the message again just to log a failure.
    const { messageId, server } = (job.data ?? {}) as { messageId?: unknown; server?: unknown };
    if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 998) return this.deps.logger.child({ jobId: job.id });
    if (typeof server !== 'string' || !SERVER_TOKEN_PATTERN.test(server)) return this.deps.logger.child({ jobId: job.id, messageId });
    return this.deps.logger.child({ jobId: job.id, messageId, messageToken: messageTokenFor(this.deps.keys, server, messageId), server });
  }

  async process(job: Job): Promise<RewriteJobOutcome> {
    let data: OutboundMessageJob;
    try {
      data = parseOutboundMessageJob(job.data);
    } catch (error) {
      // A malformed job will never succeed: fail it now and keep it for inspection.
      if (error instanceof InvalidPayloadError) throw new UnrecoverableError(error.message);
      throw error;
    }
    const { deps } = this;
    const raw = Buffer.from(data.raw, 'base64');
    const messageToken = messageTokenFor(deps.keys, data.server, data.messageId);
    const log = deps.logger.child({ jobId: job.id, messageId: data.messageId, messageToken, server: data.server });

    // A mistyped token must not pass for a server without tracking domains: say which it is.
    const selection: Selection<TrackingDomain> = (await deps.trackingDomainFor(data.server, sender(raw), data.trackingDomain)) ?? {
      reason: `unknown-server: no server has the token ${data.server} (check the server token the platform sends)`,
    };
    const result: RewriteResult = selection.domain
      ? await deps.pool.rewrite(raw, {
          trackingDomain: selection.domain.host,
          ssl: selection.domain.ssl,
          trackClicks: selection.domain.trackClicks,
          trackOpens: selection.domain.trackOpens,
          excludedDomains: selection.domain.excludedDomains,
          server: data.server,
          messageToken,
          signsAfterTracking: deps.signsAfterTracking,
          maxMessageBytes: deps.maxMessageBytes,
        })
      : { raw, messageToken, links: [], pixel: false, skipped: selection.reason, notes: [] };

    const ready: OutboundReadyJob = {
      messageId: data.messageId,
      messageToken,
      raw: result.raw.toString('base64'),
      tracked: result.skipped ? null : { links: result.links.length, pixel: result.pixel },
      ...(result.skipped !== undefined && { skipped: result.skipped }),
    };
    const outputs = [deps.ready.add('message', ready, { ...READY_JOB_OPTIONS, jobId: jobIdForMessage(data.messageId) })];
    if (selection.domain && !result.skipped) {
      const event: TrackedMessageEvent = {
        type: 'message',
        id: uuidv5(messageToken, MESSAGE_EVENT_NAMESPACE),
        messageToken,
        server: data.server,
        platformMessageId: data.messageId,
        ...(data.recipient !== undefined && { recipient: data.recipient }),
        ...(data.tag !== undefined && { tag: data.tag }),
        trackingDomain: selection.domain.host,
        links: result.links,
        pixel: result.pixel,
        at: new Date().toISOString(),
      };
      outputs.push(deps.events.add('message', event, { ...TRACKING_EVENT_JOB_OPTIONS, jobId: jobIdForEvent(event.id) }));
    }
    // Both at once (one round trip): if either fails the job is retried, and their ids make
    // the retry add nothing twice. Opens or clicks that reach the aggregator before the
    // message event are kept and joined up when it arrives.
    await Promise.all(outputs);

    if (result.skipped) log.info({ skipped: result.skipped }, 'message left untracked');
    else log.info({ links: result.links.length, pixel: result.pixel, trackingDomain: selection.domain?.host }, 'message tracked');
    // One line per message: the engine already gathers a part's notes into one.
    if (result.notes.length > 0) log.warn({ notes: result.notes }, 'parts left untouched or links left untracked');
    return { messageToken, links: result.links.length, pixel: result.pixel, ...(result.skipped !== undefined && { skipped: result.skipped }) };
  }
}

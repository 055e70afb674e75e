import { jobIdForMessage, parseOutboundMessageJob, parseOutboundReadyJob, type OutboundReadyJob } from '@mailbeacon/contracts';
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { resolveQueueSettings, type QueueSettings, type ResolvedQueueSettings } from './queue-settings';

/** A message the platform wants tracked. */
export interface OutgoingMessage {
  /** The platform's own id for the message; enqueueing the same id twice tracks it once. */
  messageId: string;
  /** The sending server's token (see `mailbeacon servers add`). */
  server: string;
  /** The RFC 5322 message. */
  raw: Buffer;
  /** Use this tracking domain instead of the one matching the From domain. */
  trackingDomain?: string;
  recipient?: string;
  /** A campaign or category, for the statistics. */
  tag?: string;
}

/** A message back from mailbeacon, ready to send. */
export interface ReadyMessage extends Omit<OutboundReadyJob, 'raw'> {
  /** The message to send: tracked, or exactly as enqueued when `skipped` says why not. */
  raw: Buffer;
}

export interface ConsumeOptions {
  /** Messages handled at once (default 1). */
  concurrency?: number;
}

/** What a consumer returns: close it to stop after the messages in hand. */
export interface ReadyConsumer {
  close(): Promise<void>;
}

const ENQUEUE_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  // Completed jobs stay an hour, so a retried enqueue within it is recognised as the same message.
  removeOnComplete: { age: 3600, count: 100_000 },
  removeOnFail: false,
};

/**
 * The mail platform's side of mailbeacon: hand messages over for tracking, and take them back
 * ready to send.
 *
 *   const client = new MailbeaconClient({ connection: 'redis://127.0.0.1:6379' });
 *   await client.enqueueMessage({ messageId, server, raw });
 *   const consumer = client.consumeReady(async (ready) => send(ready.raw));
 */
export class MailbeaconClient {
  private readonly settings: ResolvedQueueSettings;
  private readonly outbound: Queue;
  private readonly consumers = new Set<Worker>();

  constructor(settings: QueueSettings) {
    this.settings = resolveQueueSettings(settings);
    this.outbound = new Queue(this.settings.queues.outboundMessages, { connection: this.settings.connection, prefix: this.settings.prefix });
  }

  /** Validates and enqueues one message; resolves with its job id once Redis has it. */
  async enqueueMessage(message: OutgoingMessage): Promise<string> {
    const [id] = await this.enqueueMessages([message]);
    return id;
  }

  /** Enqueues many in one round trip. Not all-or-nothing: on error, enqueue again; ids make it idempotent. */
  async enqueueMessages(messages: readonly OutgoingMessage[]): Promise<string[]> {
    const jobs = messages.map((m) => {
      const data = parseOutboundMessageJob({ ...m, raw: m.raw.toString('base64') });
      return { name: 'message', data, opts: { ...ENQUEUE_OPTIONS, jobId: jobIdForMessage(m.messageId) } };
    });
    const added = await this.outbound.addBulk(jobs);
    return added.map((job) => job.id!);
  }

  /**
   * Calls `handler` for each message ready to send; it is retried when the handler throws.
   * Returns once the consumer is connected.
   */
  async consumeReady(handler: (message: ReadyMessage) => Promise<void>, options: ConsumeOptions = {}): Promise<ReadyConsumer> {
    const worker = new Worker(
      this.settings.queues.outboundReady,
      async (job: Job) => {
        const data = parseOutboundReadyJob(job.data);
        await handler({ ...data, raw: Buffer.from(data.raw, 'base64') });
      },
      { connection: this.settings.connection, prefix: this.settings.prefix, concurrency: options.concurrency ?? 1 },
    );
    this.consumers.add(worker);
    await worker.waitUntilReady();
    return {
      close: async () => {
        this.consumers.delete(worker);
        await worker.close();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((w) => w.close()));
    this.consumers.clear();
    await this.outbound.close();
    if (this.settings.ownsConnection) await this.settings.connection.quit();
  }
}

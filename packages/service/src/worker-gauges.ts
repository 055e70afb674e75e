import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from './with-timeout';

/*
 * Gauges every queue worker reports the same way (the rewriter and the aggregator): how many
 * jobs wait in its queues, and whether its Redis connection is up. Both are read at scrape
 * time, so a scrape shows the queue as it is, not as it was at the last job.
 */

/** The job states reported per queue. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Where the counts come from (a BullMQ Queue). */
export interface CountingQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface QueueDepthGaugeOptions {
  name: string;
  help: string;
  /** The queues to count at each scrape. */
  queues: () => readonly CountingQueue[];
  /** How long a scrape waits for Redis; without an answer the queue's series are left out. */
  timeoutMs: number;
}

export function queueDepthGauge(registry: Registry, options: QueueDepthGaugeOptions): Gauge<'queue' | 'state'> {
  const { queues, timeoutMs } = options;
  return new Gauge({
    name: options.name,
    help: options.help,
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect(this: Gauge<'queue' | 'state'>) {
      await Promise.all(
        queues().map(async (queue) => {
          try {
            const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs, `${queue.name} job counts`);
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch {
            for (const state of QUEUE_STATES) this.remove({ queue: queue.name, state });
          }
        }),
      );
    },
  });
}

export function redisConnectedGauge(registry: Registry, name: string, connected: () => boolean): Gauge {
  return new Gauge({
    name,
    help: '1 while the connection to Redis is ready',
    registers: [registry],
    collect(this: Gauge) {
      this.set(connected() ? 1 : 0);
    },
  });
}

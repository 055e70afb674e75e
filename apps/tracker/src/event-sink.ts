import type { TrackingEvent } from '@mailbeacon/contracts';

/**
 * Where the tracker hands its events. `publish` resolves once the event is safely stored
 * (queued in Redis, or spooled to disk while Redis is away) and rejects only when it could
 * not be kept at all, or when the event does not match the contracts' schema (the sink is
 * where events are validated). The process wires @mailbeacon/event-publisher in; tests record.
 */
export interface EventSink {
  publish(event: TrackingEvent): Promise<void>;
}

export { EventPublisher, FAIL_FAST_REDIS_OPTIONS } from './event-publisher';
export type { EventPublisherOptions, EventPublisherStats, BatchReport, BatchDestination } from './event-publisher';
export { EventSpool, DEFAULT_SPOOL_FILE_NAME } from './event-spool';
export type { EventSpoolOptions, SpoolChunk } from './event-spool';
export { consoleLogger } from './logger';
export type { Logger } from './logger';

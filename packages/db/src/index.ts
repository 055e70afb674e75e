export { migrations } from './migrations';
export { createDatabase, ensureDatabase, migrateToLatest, openDatabase, databaseName, redact, DatabaseSetupError } from './database';
export type { DatabaseOptions } from './database';
export { ConsoleSessionRepository } from './console-sessions';
export type { SessionLimits } from './console-sessions';
export type { Database, ConsoleSessionsTable, VerificationStatus, MessagesTable, OpensTable, ClicksTable, LinkStatsTable, HourlyStatsTable, LinkDailyStatsTable, MachineDailyStatsTable } from './schema';
export { EventPartitions, EVENT_TABLES, dayStart, partitionName } from './event-partitions';
export type { EventPartition, EventTable } from './event-partitions';
export { ServerRepository, ServerHasDomainsError, newServerToken } from './servers';
export type { Server } from './servers';
export { TrackingDomainRepository, UnknownServerError, DuplicateTrackingDomainError } from './tracking-domains';
export type { TrackingDomain, TrackingDomainSettings, NewTrackingDomain } from './tracking-domains';
export { ApiKeyRepository, ServerHasApiKeysError, API_KEY_PATTERN, API_KEY_PREFIX, LAST_USED_RESOLUTION_MS, hashApiKey } from './api-keys';
export type { ApiKey, CreatedApiKey } from './api-keys';
export { loadTrackingSettings } from './tracking-settings';
export type { TrackingSettings } from './tracking-settings';
export { TrackingSettingsListener, TRACKING_SETTINGS_CHANNEL, TRACKING_SETTINGS_LISTENER_NAME } from './tracking-settings-listener';
export type { TrackingSettingsListenerOptions } from './tracking-settings-listener';
export { StatsReader, StatsQueryTimeoutError, TIMELINE_HITS_SHOWN, statsScope } from './stats-reader';
export type {
  StatsAudience, StatsBucket, StatsScope, StatsCounts, StatsRates, StatsSummary, MachineShare, MachineReasonCount, SeriesPoint, TagStats, LinkStats,
  MessageTimeline, TimelineEntry,
} from './stats-reader';
export type { Kysely } from 'kysely';

export { createDatabase, ensureDatabase, migrateToLatest, openDatabase, databaseName, redact, DatabaseSetupError } from './database';
export type { DatabaseOptions } from './database';
export type { Database, VerificationStatus } from './schema';
export { ServerRepository, newServerToken } from './servers';
export type { Server } from './servers';
export { TrackingDomainRepository, UnknownServerError, DuplicateTrackingDomainError } from './tracking-domains';
export type { TrackingDomain, TrackingDomainSettings, NewTrackingDomain } from './tracking-domains';
export type { Kysely } from 'kysely';

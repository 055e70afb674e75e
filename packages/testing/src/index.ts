export { temporaryDatabase, TEST_POSTGRES_URL } from './temporary-database';
export type { TemporaryDatabase } from './temporary-database';
export { uniquePrefix, TEST_REDIS_URL } from './redis-prefix';
export * from './corpus';

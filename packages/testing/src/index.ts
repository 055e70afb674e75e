export { temporaryDatabase, dropDatabase, TEST_POSTGRES_URL } from './temporary-database';
export type { TemporaryDatabase } from './temporary-database';
export { uniquePrefix, TEST_REDIS_URL } from './redis-prefix';
export * from './corpus';
export { trackingHostStandIn, listenOnLoopback, closeServer } from './tracking-host-stand-in';
export type { TrackingHostStandIn } from './tracking-host-stand-in';
export { capturingLogger } from './capturing-logger';
export { OwnRedis, freePort } from './redis-server';
export {
  fixtureToken,
  linkUrl,
  messageEventFixture,
  openEventFixture,
  clickEventFixture,
  FIXTURE_SERVER,
  FIXTURE_DOMAIN,
  BROWSER_AGENT,
} from './event-fixtures';
export type { MessageFixture, HitFixture } from './event-fixtures';
export { OwnPostgres } from './postgres-server';

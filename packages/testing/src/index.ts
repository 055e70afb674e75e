export { temporaryDatabase, dropDatabase, TEST_POSTGRES_URL } from './temporary-database';
export type { TemporaryDatabase } from './temporary-database';
export { uniquePrefix, TEST_REDIS_URL } from './redis-prefix';
export * from './corpus';
export { trackingHostStandIn, listenOnLoopback, closeServer } from './tracking-host-stand-in';
export type { TrackingHostStandIn } from './tracking-host-stand-in';
export { capturingLogger } from './capturing-logger';
export { OwnRedis, freePort } from './redis-server';
export type { OwnRedisOptions } from './redis-server';
export { OwnRedisCluster } from './redis-cluster';
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
export {
  requireNginx,
  adaptedCopy,
  listenPort,
  upstreamServer,
  certificate,
  nginxSetup,
  nginxTest,
  startNginx,
  stopNginx,
  startTrackingProxy,
  NGINX_BINARY,
  NGINX_CONF_DIR,
  NGINX_CONF,
  UPSTREAM_CONF_SERVER,
} from './nginx';
export type { Rewrite, NginxSetup, TrackingProxy, TrackingProxyOptions } from './nginx';
export { parsePrometheus, sampleValue } from './prometheus-text';
export type { Sample } from './prometheus-text';
export { largestFitting } from './largest-fitting';
export { CHROMIUM, launchChromium, CONSOLE_VIEWPORTS, CONSOLE_ARTIFACTS, consoleScreenshots, logInToConsole, watchCspViolations } from './chromium';

export { QUEUE_NAMES, DEFAULT_QUEUE_PREFIX, TRACKING_EVENT_JOB_OPTIONS, isValidQueuePrefix, hasHashTag, CLUSTER_PREFIX_RULE, jobIdForMessage, jobIdForEvent } from './queues';
export type { QueueName } from './queues';

export {
  InvalidPayloadError,
  EVENT_TIME_WINDOW,
  outboundMessageJobSchema,
  outboundReadyJobSchema,
  trackedMessageEventSchema,
  openEventSchema,
  clickEventSchema,
  trackingEventSchema,
  parseOutboundMessageJob,
  parseOutboundReadyJob,
  parseTrackingEvent,
} from './payloads';
export type {
  PayloadIssue,
  OutboundMessageJob,
  OutboundReadyJob,
  TrackedMessageEvent,
  OpenEvent,
  ClickEvent,
  TrackingEvent,
  TrackingEventType,
} from './payloads';

export {
  loadConfig,
  loadConfigs,
  ConfigError,
  redisUrl,
  databaseUrl,
  port,
  portOrOff,
  listenHost,
  positiveInt,
  nonNegativeInt,
  boolean,
  queuePrefix,
  queueName,
  logLevel,
  checkClusterQueuePrefix,
  trustProxy,
  DEFAULT_REDIS_URL,
  DEFAULT_DATABASE_URL,
  DEFAULT_LOG_LEVEL,
  LOG_LEVELS,
} from './config';
export type { Env, ConfigProblem, LogLevel, TrustProxy } from './config';
export { isClusterUrl, parseClusterUrl } from './redis-url';
export type { RedisClusterUrl, RedisSeed } from './redis-url';

export {
  signingKeysFromEnv,
  describeSigningKeys,
  findCheckoutRoot,
  signingSecretFile,
  readSigningSecretFile,
  SECRET_VARIABLE,
  PREVIOUS_SECRETS_VARIABLE,
  SECRET_FILE_VARIABLE,
  DEFAULT_SECRET_FILE,
  DEVELOPMENT_SECRET,
  DEVELOPMENT_KEY_WARNING,
} from './signing-config';
export type { SigningKeys, SigningKeySource } from './signing-config';

export { parseWith } from './payloads';
export { jsonSchemaFiles, jsonSchemaText } from './json-schemas';
export type { JsonSchemaFile } from './json-schemas';
export {
  newServerInputSchema,
  newTrackingDomainInputSchema,
  trackingDomainUpdateInputSchema,
  trackingDomainHostSchema,
  serverTokenSchema,
  parseNewServerInput,
  parseNewTrackingDomainInput,
  parseTrackingDomainUpdateInput,
  parseTrackingDomainHost,
  parseServerToken,
  newApiKeyInputSchema,
  apiKeyIdSchema,
  parseNewApiKeyInput,
  parseApiKeyId,
} from './admin-inputs';
export type { NewServerInput, NewTrackingDomainInput, TrackingDomainUpdateInput, NewApiKeyInput } from './admin-inputs';
export { parseStatsQuery, statsQueryInputSchema, STATS_RANGES, MAX_STATS_RANGE_DAYS, MAX_HOURLY_RANGE_DAYS, HOURLY_UP_TO_DAYS, DEFAULT_TOP_LINKS, MAX_TOP_LINKS } from './stats-inputs';
export type { StatsQuery, StatsQueryInput, StatsRange } from './stats-inputs';

export { createAdminApp, JSON_BODY_LIMIT } from './admin-app';
export type { AdminDeps } from './admin-app';
export type { AdminLogger } from './admin-logger';
export type { ErrorBody, FieldIssue } from './api-errors';
export { loadAdminConfig, DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT, MIN_ADMIN_TOKEN_LENGTH, GENERATED_ADMIN_TOKEN_WARNING } from './config';
export type { AdminConfig } from './config';
export { startAdmin, StartupError } from './main';
export type { RunningAdmin, StartAdminOptions } from './main';

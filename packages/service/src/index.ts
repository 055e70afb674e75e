export { runService, StartupError, describeError } from './run-service';
export type { RunningService, ServiceDefinition } from './run-service';

export { runService, StartupError, describeError } from './run-service';
export type { RunningService, ServiceDefinition } from './run-service';
export { gracefulCloser, listen, serveHttp } from './http-server';

export { startPipeline, describeRunning, PIPELINE_APPS } from './pipeline';
export type { PipelineOptions, RunningPipeline, PipelineAppName } from './pipeline';
export { AppProcess, AppStartError, AppsStartError } from './app-process';
export { checkRedis, checkServices, preparePostgres, PreflightError } from './preflight';
export { formatLogLine, jsonLogLine, parseLogLine } from './log-lines';
export { localSecret } from './local-secret';
export { loadPipelineConfig, REPO_ROOT } from './config';
export { runDemo, trackedLinksIn, htmlMessage, DemoError, DEMO_SERVER_NAME, DEMO_TRACKING_DOMAIN } from './demo';
export type { DemoOptions, TrackedLink, HtmlMessageHeaders } from './demo';

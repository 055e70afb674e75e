export { startRewriter } from './rewriter';
export type { RunningRewriter } from './rewriter';
export { loadRewriterConfig } from './config';
export type { RewriterConfig } from './config';
export { RewriteJob } from './rewrite-job';
export { createRewritePool } from './rewrite-pool';

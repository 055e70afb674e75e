export { rewriteMessage } from './rewrite-message';
export type { RewriteResult } from './rewrite-message';
export { RewriteOptionsError, DEFAULT_MAX_MESSAGE_BYTES } from './rewrite-options';
export type { RewriteOptions } from './rewrite-options';
export type { TrackedLink } from './tracked-links';
export { rewriteHtml } from './html-links';
export { rewriteText } from './text-links';
export { LinkPolicy } from './link-policy';

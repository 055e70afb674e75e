export { keyRing, signingKey, InvalidSecretError, MIN_SECRET_LENGTH } from './key-ring';
export type { KeyRing, SigningKey } from './key-ring';
export { newMessageToken, messageTokenFor, MESSAGE_TOKEN_PATTERN, SERVER_TOKEN_PATTERN } from './message-token';
export { signLink, signPixel, verifyLink, verifyPixel, isHttpDestination, SignLinkError, TrackingUrlTooLongError, MAX_TRACKING_URL_LENGTH, locationFor } from './tracking-url';
export type { TrackingHost, ClickLink, OpenPixel, Verified } from './tracking-url';

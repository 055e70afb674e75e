import { createHmac, randomBytes } from 'node:crypto';
import type { KeyRing } from './key-ring';

/** 128 random bits, URL-safe: unguessable, so one recipient cannot forge another's events. */
export function newMessageToken(): string {
  return randomBytes(16).toString('base64url');
}

export const MESSAGE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const SERVER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The token of a platform message, derived rather than random: a retried or re-run rewrite
 * of the same message then produces the very same tracked message (same links, same pixel),
 * so nothing downstream sees two versions. Keyed with the signing key, so it is as
 * unguessable as a random one.
 */
export function messageTokenFor(keys: KeyRing, server: string, platformMessageId: string): string {
  return createHmac('sha256', keys.current.secret).update(`message token\n${server}\n${platformMessageId}`).digest().subarray(0, 16).toString('base64url');
}

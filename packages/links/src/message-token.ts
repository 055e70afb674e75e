import { randomBytes } from 'node:crypto';

/** 128 random bits, URL-safe: unguessable, so one recipient cannot forge another's events. */
export function newMessageToken(): string {
  return randomBytes(16).toString('base64url');
}

export const MESSAGE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const SERVER_TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

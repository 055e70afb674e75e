import type { ApiKey, ApiKeyRepository } from '@mailbeacon/db';
import { API_KEY_PREFIX } from '@mailbeacon/db';

/*
 * Server-scoped, read-only API keys (`Authorization: Bearer mbk_…`): what a platform gives a
 * customer so that it reads its own numbers and nothing else. A key reaches GET (and HEAD) on
 * `/servers/<its own server's token>/stats` and `/servers/<its own server's token>/messages`
 * and below; every other method, path or server is refused, whatever routes exist, so a route
 * added later under another path is closed to keys until it is added here.
 */

export type ApiKeyLookup = Pick<ApiKeyRepository, 'findByKey'>;

export type ApiKeyVerdict = { ok: true; apiKey: ApiKey } | { ok: false; status: 401 | 403; error: string };

/** A credential in the form of an API key (an admin token could look like one: it is tried first). */
export const looksLikeApiKey = (credential: string): boolean => credential.startsWith(API_KEY_PREFIX);

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Matched on the raw path, before the router decodes anything: a token is only ever
 * `[A-Za-z0-9_-]`, so `%2F`, `..` or a differently cased `/Servers/` are simply not this shape
 * (and refused), never decoded into it.
 */
const KEY_READABLE_PATH = /^\/servers\/([A-Za-z0-9_-]{1,64})\/(?:stats|messages)(?:\/.*)?$/;

/**
 * `.` and `..` segments (also percent-encoded): the router does not resolve them, but a proxy
 * in front, or a route added later, might; a key has no business sending them.
 */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;

/** Whether a key of `server` may make this request. */
export function apiKeyMayRequest(server: string, method: string, path: string): boolean {
  return READ_METHODS.has(method) && !DOT_SEGMENT.test(path) && KEY_READABLE_PATH.exec(path)?.[1] === server;
}

/** The verdict on a request carrying `key`: let through (with the key), 401 (no such key, revoked) or 403 (out of its scope). */
export async function checkApiKey(keys: ApiKeyLookup, key: string, method: string, path: string): Promise<ApiKeyVerdict> {
  const apiKey = await keys.findByKey(key);
  if (!apiKey) return { ok: false, status: 401, error: 'unknown API key' };
  if (apiKey.revokedAt !== null) return { ok: false, status: 401, error: `API key ${apiKey.prefix}… was revoked` };
  if (!apiKeyMayRequest(apiKey.server, method, path)) {
    const own = `/servers/${apiKey.server}`;
    return { ok: false, status: 403, error: `an API key only reads its own server's numbers: GET ${own}/stats… and GET ${own}/messages…` };
  }
  return { ok: true, apiKey };
}

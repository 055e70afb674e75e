import { isIP } from 'node:net';
import {
  InvalidPayloadError,
  newApiKeyInputSchema,
  newServerInputSchema,
  newTrackingDomainInputSchema,
  parseApiKeyId,
  parseNewApiKeyInput,
  parseNewServerInput,
  parseNewTrackingDomainInput,
  parseServerToken,
  parseTrackingDomainHost,
  parseTrackingDomainUpdateInput,
  parseWith,
  trackingDomainUpdateInputSchema,
  type NewApiKeyInput,
  type NewServerInput,
  type NewTrackingDomainInput,
  type TrackingDomainUpdateInput,
} from '@mailbeacon/contracts';
import type { DomainCheckOptions } from '@mailbeacon/domains';
import { z } from 'zod';
import { ApiError, issuesOf, type FieldIssue } from './api-errors';

/*
 * Request bodies are validated by the shared schemas of @mailbeacon/contracts (the CLI uses
 * the same ones). The only thing added here: zod reports unknown properties together, at the
 * root; an API client is better served by one issue per property, named as its field.
 */

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function parseBody<T>(body: unknown, what: string, fields: readonly string[], parse: (data: unknown) => T): T {
  // No body at all is an empty object, so a missing field is named rather than "(root)".
  const data = body ?? {};
  const unknown = isPlainObject(data) ? Object.keys(data).filter((key) => !fields.includes(key)) : [];
  if (unknown.length === 0) return parse(data);

  const issues: FieldIssue[] = [];
  const known = Object.fromEntries(Object.entries(data as Record<string, unknown>).filter(([key]) => fields.includes(key)));
  try {
    parse(known);
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    issues.push(...issuesOf(error));
  }
  issues.push(...unknown.map((field) => ({ field, message: 'is not a known property' })));
  throw new ApiError(400, `invalid ${what}`, issues);
}

export const newServerInput = (body: unknown): NewServerInput => parseBody(body, 'server', Object.keys(newServerInputSchema.shape), parseNewServerInput);

export const newTrackingDomainInput = (body: unknown): NewTrackingDomainInput =>
  parseBody(body, 'tracking domain', Object.keys(newTrackingDomainInputSchema.shape), parseNewTrackingDomainInput);

export const trackingDomainUpdateInput = (body: unknown): TrackingDomainUpdateInput =>
  parseBody(body, 'tracking domain update', Object.keys(trackingDomainUpdateInputSchema.shape), parseTrackingDomainUpdateInput);

export const newApiKeyInput = (body: unknown): NewApiKeyInput => parseBody(body, 'API key', Object.keys(newApiKeyInputSchema.shape), parseNewApiKeyInput);

/** The `:host` of a URL, normalised as stored (lower case, no trailing dot). */
export const hostParam = (value: string): string => parseParam(value, 'host', 'host', parseTrackingDomainHost);

/** A bare value validated on its own: its issue is reported under `field`. */
function parseParam<T>(value: unknown, what: string, field: string, parse: (data: unknown) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    throw new ApiError(400, `invalid ${what}`, error.issues.map((issue) => ({ field, message: issue.message })));
  }
}

/** The `:token` of a URL. */
export const serverTokenParam = (value: string): string => parseParam(value, 'server token', 'token', parseServerToken);

/** The `:id` of an API key's URL. */
export const apiKeyIdParam = (value: string): number => parseParam(value, 'API key id', 'id', parseApiKeyId);

/** `?server=TOKEN`: one token (checked, so a NUL never reaches PostgreSQL), or none. */
export function serverFilter(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ApiError(400, 'invalid query', [{ field: 'server', message: 'must be one server token' }]);
  return parseParam(value, 'query', 'server', parseServerToken);
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Where to aim the check instead of what DNS says (a proxy not yet in DNS, a staging address). */
export const domainCheckInputSchema = z.strictObject({
  address: z.string().refine((address) => isIP(address) !== 0 || HOST_NAME.test(address), 'must be an IP address or a host name').optional(),
  port: z.int('must be an integer from 1 to 65535').min(1, 'must be an integer from 1 to 65535').max(65535, 'must be an integer from 1 to 65535').optional(),
});

export const domainCheckInput = (body: unknown): DomainCheckOptions =>
  parseBody(body, 'domain check', Object.keys(domainCheckInputSchema.shape), (data) => parseWith('domain check', domainCheckInputSchema, data));

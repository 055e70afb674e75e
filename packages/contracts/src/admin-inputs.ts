import { SERVER_TOKEN_PATTERN } from '@mailbeacon/links';
import { z } from 'zod';
import { parseWith } from './payloads';

/*
 * What operators send to manage servers and tracking domains, through the admin API or the
 * CLI alike: both validate with these schemas, so both name the same field for the same mistake.
 */

/** A DNS name of two labels or more, lower-cased, without a trailing dot. */
const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value) => value.replace(/\.$/, ''))
  .pipe(
    z
      .string()
      .max(253)
      .regex(/^(?=[^.]{1,63}\.)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a domain name such as click.example.com'),
  );

const serverToken = z.string().regex(SERVER_TOKEN_PATTERN, 'must be a server token');

const trackingDomainSettings = {
  /** https tracking URLs; false for http (not recommended). */
  ssl: z.boolean().optional(),
  trackClicks: z.boolean().optional(),
  trackOpens: z.boolean().optional(),
  /** Links to these domains and their subdomains are never tracked. */
  excludedDomains: z
    .array(domainName)
    .max(500)
    .transform((domains) => [...new Set(domains)])
    .optional(),
};

export const newServerInputSchema = z.strictObject({ name: z.string().trim().min(1, 'must not be empty').max(200) });
export type NewServerInput = z.output<typeof newServerInputSchema>;

export const newTrackingDomainInputSchema = z.strictObject({ host: domainName, server: serverToken, ...trackingDomainSettings });
export type NewTrackingDomainInput = z.output<typeof newTrackingDomainInputSchema>;

export const trackingDomainUpdateInputSchema = z
  .strictObject(trackingDomainSettings)
  .refine((value) => Object.values(value).some((v) => v !== undefined), 'give at least one of ssl, trackClicks, trackOpens, excludedDomains');
export type TrackingDomainUpdateInput = z.output<typeof trackingDomainUpdateInputSchema>;

export const trackingDomainHostSchema = domainName;

export const parseNewServerInput = (data: unknown): NewServerInput => parseWith('server', newServerInputSchema, data);
export const parseNewTrackingDomainInput = (data: unknown): NewTrackingDomainInput => parseWith('tracking domain', newTrackingDomainInputSchema, data);
export const parseTrackingDomainUpdateInput = (data: unknown): TrackingDomainUpdateInput => parseWith('tracking domain update', trackingDomainUpdateInputSchema, data);
export const parseTrackingDomainHost = (data: unknown): string => parseWith('host', trackingDomainHostSchema, data);

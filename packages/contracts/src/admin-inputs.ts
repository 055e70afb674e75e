import { SERVER_TOKEN_PATTERN } from '@mailbeacon/links';
import { z } from 'zod';
import { readsAsIpAddress } from './host-name';
import { parseWith } from './payloads';

/*
 * What operators send to manage servers and tracking domains, through the admin API or the
 * CLI alike: both validate with these schemas, so both name the same field for the same mistake.
 */

const DOMAIN_NAME = /^(?=[^.]{1,63}\.)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NOT_A_DOMAIN_NAME = 'must be a domain name such as click.example.com';
const NOT_AN_IP_ADDRESS = `${NOT_A_DOMAIN_NAME}, not an IP address (its last label cannot be a number)`;
const hasDomainNameSyntax = (host: string) => host.length <= 253 && DOMAIN_NAME.test(host);

/** Lower case, without surrounding blanks or a trailing dot: how hosts are stored and compared. */
const normalisedHost = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value) => value.replace(/\.$/, ''));

/** A DNS name of two labels or more, lower-cased, without a trailing dot; never an IP address. */
const domainName = normalisedHost.pipe(
  z.string().superRefine((value, ctx) => {
    // An address would be advertised as "point 10.0.0.1 at your tracker (CNAME)" and put in every link.
    if (readsAsIpAddress(value)) ctx.addIssue({ code: 'custom', message: NOT_AN_IP_ADDRESS });
    else if (!hasDomainNameSyntax(value)) ctx.addIssue({ code: 'custom', message: NOT_A_DOMAIN_NAME });
  }),
);

/**
 * The host naming a tracking domain that exists: the syntax alone, so a domain added before IP
 * addresses were refused can still be read, changed and removed.
 */
const existingHost = normalisedHost.pipe(z.string().refine(hasDomainNameSyntax, NOT_A_DOMAIN_NAME));

export const serverTokenSchema = z.string().regex(SERVER_TOKEN_PATTERN, 'must be a server token');

const trackingDomainSettings = {
  /** https tracking URLs; false for http (not recommended). */
  ssl: z.boolean().optional(),
  trackClicks: z.boolean().optional(),
  trackOpens: z.boolean().optional(),
  /**
   * Links to these domains and their subdomains are never tracked. The syntax alone: an
   * address such as 10.0.0.5 is a fine thing to exclude (only a tracking domain must be a name).
   */
  excludedDomains: z
    .array(existingHost)
    .max(500)
    .transform((domains) => [...new Set(domains)])
    .optional(),
};

/**
 * A server's name is printed in operators' terminals: control characters (NUL, ESC, BEL, line
 * breaks…) could rewrite the screen, and a name starting with `-` reads as an option.
 */
const serverName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .refine((name) => !/\p{Cc}/u.test(name), 'must not contain control characters (such as NUL, ESC, BEL or a line break)')
  .refine((name) => !name.startsWith('-'), 'must not start with - (it would read as a command-line option)');

/** A new server, and a server's new name (a rename takes the same body). */
export const newServerInputSchema = z.strictObject({ name: serverName });
export type NewServerInput = z.output<typeof newServerInputSchema>;

export const newTrackingDomainInputSchema = z.strictObject({ host: domainName, server: serverTokenSchema, ...trackingDomainSettings });
export type NewTrackingDomainInput = z.output<typeof newTrackingDomainInputSchema>;

export const trackingDomainUpdateInputSchema = z
  .strictObject(trackingDomainSettings)
  .refine((value) => Object.values(value).some((v) => v !== undefined), 'give at least one of ssl, trackClicks, trackOpens, excludedDomains');
export type TrackingDomainUpdateInput = z.output<typeof trackingDomainUpdateInputSchema>;

export const trackingDomainHostSchema = existingHost;

/** A new read-only API key: a label to tell it apart (who has it), under the same rules as a server's name. */
export const newApiKeyInputSchema = z.strictObject({ name: serverName.optional() });
export type NewApiKeyInput = z.output<typeof newApiKeyInputSchema>;

/** An API key's id, as it appears in a path or on the command line. */
export const apiKeyIdSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be an API key id (a positive integer)')
  .transform(Number)
  .refine((id) => id <= 2_147_483_647, 'must be an API key id (a positive integer)');

export const parseNewServerInput = (data: unknown): NewServerInput => parseWith('server', newServerInputSchema, data);
export const parseNewTrackingDomainInput = (data: unknown): NewTrackingDomainInput => parseWith('tracking domain', newTrackingDomainInputSchema, data);
export const parseTrackingDomainUpdateInput = (data: unknown): TrackingDomainUpdateInput => parseWith('tracking domain update', trackingDomainUpdateInputSchema, data);
export const parseTrackingDomainHost = (data: unknown): string => parseWith('host', trackingDomainHostSchema, data);
export const parseServerToken = (data: unknown): string => parseWith('token', serverTokenSchema, data);
export const parseNewApiKeyInput = (data: unknown): NewApiKeyInput => parseWith('API key', newApiKeyInputSchema, data);
export const parseApiKeyId = (data: unknown): number => parseWith('id', apiKeyIdSchema, data);

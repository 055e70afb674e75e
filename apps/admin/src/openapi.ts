import {
  DEFAULT_TOP_LINKS,
  MAX_TOP_LINKS,
  newApiKeyInputSchema,
  newServerInputSchema,
  newTrackingDomainInputSchema,
  serverTokenSchema,
  statsQueryInputSchema,
  trackingDomainUpdateInputSchema,
} from '@mailbeacon/contracts';
import { TIMELINE_HITS_SHOWN } from '@mailbeacon/db';
import { z } from 'zod';
import { domainCheckInputSchema } from './request-inputs';

/*
 * The admin API as an OpenAPI 3.1 document, served on GET /openapi.json. Request bodies are
 * the very validators the routes use (from @mailbeacon/contracts), turned into JSON Schema by
 * zod; answers are described by the schemas below. A test walks the app's real routes and
 * fails when one is missing here (or documented but absent), and validates real answers
 * against these schemas: a route added without its entry here does not pass.
 */

const isoTime = z.iso.datetime().meta({ description: 'ISO 8601, UTC (`2025-01-31T12:00:00.000Z`)' });

const serverSchema = z.strictObject({
  id: z.int(),
  name: z.string(),
  token: z.string().meta({ description: 'Short URL-safe id carried in every tracking URL of the server\'s mail' }),
  createdAt: isoTime,
});

const trackingDomainSchema = z.strictObject({
  id: z.int(),
  server: z.string().meta({ description: "The owning server's token" }),
  host: z.string(),
  ssl: z.boolean(),
  trackClicks: z.boolean(),
  trackOpens: z.boolean(),
  excludedDomains: z.array(z.string()),
  verification: z.strictObject({ status: z.enum(['unchecked', 'ok', 'failed']), message: z.string().nullable(), checkedAt: isoTime.nullable() }),
  updatedAt: isoTime,
});

const domainCheckResultSchema = z.strictObject({
  host: z.string(),
  ok: z.boolean(),
  steps: z.array(z.strictObject({ name: z.enum(['dns', 'http']), ok: z.boolean(), detail: z.string() })),
  verdict: z.string(),
  advice: z.array(z.string()).meta({ description: 'What to fix, in order; empty when ok' }),
});

const apiKeyFields = {
  id: z.int(),
  server: z.string().meta({ description: "The token of the server whose numbers it reads" }),
  name: z.string().nullable(),
  prefix: z.string().meta({ description: 'The key\'s first 12 characters, to recognise it (`mbk_AbCd1234`)' }),
  createdAt: isoTime,
  lastUsedAt: isoTime.nullable().meta({ description: 'Updated at most once a minute' }),
  revokedAt: isoTime.nullable(),
};
const apiKeySchema = z.strictObject(apiKeyFields);
const createdApiKeySchema = z.strictObject({ ...apiKeyFields, key: z.string().meta({ description: 'The key itself (`mbk_…`): shown in this answer only, stored hashed' }) });

const errorSchema = z.strictObject({
  error: z.string(),
  issues: z.array(z.strictObject({ field: z.string().meta({ description: '`host`, `excludedDomains[1]`, or `(root)` for the body as a whole' }), message: z.string() })).optional(),
});

/*
 * The numbers (stats-routes.ts over @mailbeacon/db's StatsReader): JSON turns its Dates into
 * ISO strings; counts are sums of whole numbers; a rate or share is null when it would divide by 0.
 */
const count = z.int().nonnegative();
const ratio = z.number().nonnegative().nullable();

const statsScopeFields = {
  server: z.string().meta({ description: 'The server token of the path' }),
  from: isoTime.meta({ description: 'Start of the range (inclusive), UTC' }),
  to: isoTime.meta({ description: 'End of the range (exclusive), UTC' }),
  audience: z.enum(['people', 'all']).meta({ description: '`people`: machines left out; `all`: everything' }),
  tag: z.string().optional().meta({ description: 'Present when the query named one' }),
  trackingDomain: z.string().optional().meta({ description: 'Present when the query named one' }),
};

const statsCountFields = {
  messages: count.meta({ description: 'Messages sent in the range' }),
  opens: count,
  uniqueOpens: count.meta({ description: 'Messages opened for the first time in the range' }),
  clicks: count,
  uniqueClicks: count.meta({ description: 'Messages clicked for the first time in the range' }),
};

const statsRateFields = {
  openRate: ratio.meta({ description: 'uniqueOpens / messages' }),
  clickRate: ratio.meta({ description: 'uniqueClicks / messages' }),
  clickToOpenRate: ratio.meta({ description: 'uniqueClicks / uniqueOpens' }),
};

const machineReasonSchema = z.strictObject({ reason: z.string(), hits: count });

const statsSummarySchema = z.strictObject({
  ...statsScopeFields,
  ...statsCountFields,
  ...statsRateFields,
  machines: z
    .strictObject({
      opens: count,
      clicks: count,
      openShare: ratio.meta({ description: 'Of all opens' }),
      clickShare: ratio.meta({ description: 'Of all clicks' }),
      openReasons: z.array(machineReasonSchema).meta({ description: 'Most frequent first' }),
      clickReasons: z.array(machineReasonSchema).meta({ description: 'Most frequent first' }),
    })
    .meta({ description: '`people` leaves these out, whatever the audience' }),
});

const statsSeriesSchema = z.strictObject({
  ...statsScopeFields,
  by: z.enum(['hour', 'day']),
  points: z.array(z.strictObject({ at: isoTime.meta({ description: 'Start of the hour or day' }), ...statsCountFields })).meta({ description: 'One per hour or day of the range, zero-filled, oldest first' }),
});

const statsTagsSchema = z.strictObject({
  ...statsScopeFields,
  tags: z
    .array(z.strictObject({ tag: z.string().nullable().meta({ description: 'null: untagged mail' }), ...statsCountFields, ...statsRateFields }))
    .meta({ description: 'Every tag with mail or hits in the range, most messages first' }),
});

const statsLinksSchema = z.strictObject({
  ...statsScopeFields,
  limit: z.int().min(1).max(MAX_TOP_LINKS),
  links: z
    .array(z.strictObject({ url: z.string(), clicks: count.meta({ description: "The audience's clicks (the order)" }), allClicks: count.meta({ description: "Everyone's" }) }))
    .meta({ description: 'Each URL once across messages, most clicked first' }),
});

const hitFields = {
  at: isoTime,
  ip: z.string().nullable().meta({ description: 'As the tracker stored it (IP_STORAGE: truncated by default)' }),
  userAgent: z.string().nullable(),
  method: z.string(),
  machine: z.boolean(),
  machineReason: z.string().nullable(),
};

const messageTimelineSchema = z.strictObject({
  token: z.string(),
  server: z.string(),
  platformMessageId: z.string().nullable().meta({ description: 'null while only its opens or clicks have arrived' }),
  recipient: z.string().nullable(),
  tag: z.string().nullable(),
  trackingDomain: z.string().nullable(),
  linkCount: count.nullable(),
  pixel: z.boolean().nullable(),
  sentAt: isoTime.nullable(),
  opens: count,
  humanOpens: count,
  clicks: count,
  humanClicks: count,
  timeline: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('sent'), at: isoTime }),
        z.strictObject({ type: z.literal('open'), ...hitFields, proxy: z.string().nullable() }),
        z.strictObject({ type: z.literal('click'), ...hitFields, linkIndex: z.int().nonnegative(), url: z.string() }),
      ]),
    )
    .meta({ description: `Oldest first: the send, the newest ${TIMELINE_HITS_SHOWN} opens and the newest ${TIMELINE_HITS_SHOWN} clicks; raw opens and clicks older than the retention are gone (the counts stay)` }),
  truncated: z.boolean().meta({ description: `true when older opens or clicks were left out for the cap of ${TIMELINE_HITS_SHOWN} each (opens and clicks above still count them all)` }),
});

/** Every schema of the document, by its name under components/schemas. */
const COMPONENTS = {
  Server: serverSchema,
  ServerList: z.strictObject({ servers: z.array(serverSchema) }),
  NewServer: newServerInputSchema,
  TrackingDomain: trackingDomainSchema,
  TrackingDomainList: z.strictObject({ domains: z.array(trackingDomainSchema) }),
  NewTrackingDomain: newTrackingDomainInputSchema,
  TrackingDomainUpdate: trackingDomainUpdateInputSchema,
  DomainCheckOptions: domainCheckInputSchema,
  DomainCheckResult: domainCheckResultSchema,
  ApiKey: apiKeySchema,
  ApiKeyList: z.strictObject({ apiKeys: z.array(apiKeySchema) }),
  CreatedApiKey: createdApiKeySchema,
  NewApiKey: newApiKeyInputSchema,
  StatsSummary: statsSummarySchema,
  StatsSeries: statsSeriesSchema,
  StatsTags: statsTagsSchema,
  StatsLinks: statsLinksSchema,
  MessageTimeline: messageTimelineSchema,
  Health: z.strictObject({ status: z.literal('ok') }),
  Ready: z.strictObject({ status: z.literal('ready') }),
  NotReady: z.strictObject({ status: z.literal('not ready'), reason: z.string() }),
  Error: errorSchema,
} as const;

type ComponentName = keyof typeof COMPONENTS;

/** What an answer carries: a JSON schema by name, Prometheus text, this document, or nothing (204). */
type Answer = ComponentName | 'text' | 'document' | 'empty';

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** In OpenAPI form: `/domains/{host}`. */
  path: string;
  summary: string;
  /** Reachable without the admin token. */
  open?: boolean;
  /** Reachable with an API key of the path's server as well as with the admin token (api-key-auth.ts decides). */
  apiKey?: boolean;
  body?: ComponentName;
  query?: Record<string, { description: string; schema: z.ZodType }>;
  responses: Partial<Record<number, [description: string, answer: Answer]>>;
}

const invalid: [string, Answer] = ['invalid input: each bad field named', 'Error'];
const noServer: [string, Answer] = ['no server has this token', 'Error'];
const noDomain: [string, Answer] = ['no such tracking domain', 'Error'];

/** The stats query parameters: the contracts' schema of each (as sent), described here. */
const statsParameter = (name: keyof typeof statsQueryInputSchema.shape, description: string) => ({ [name]: { description, schema: statsQueryInputSchema.shape[name] } });
const statsScopeQuery = {
  ...statsParameter('range', '`today`, `7d` or `30d`: whole UTC days ending with today (default `7d` when no `from`); not with `from`/`to`'),
  ...statsParameter('from', '`2026-11-20` (midnight UTC) or `2026-11-20T09:30:00Z` (UTC unless an offset is given); the range is [from, to), at most 400 days'),
  ...statsParameter('to', 'As `from`, with it (default: now)'),
  ...statsParameter('tag', 'Only mail of this tag'),
  ...statsParameter('trackingDomain', 'Only mail of this tracking domain'),
  ...statsParameter('audience', '`people` (machines: scanners, prefetchers, Apple MPP, bots left out; the default) or `all`'),
};
const badStatsQuery: [string, Answer] = ['invalid server token or query: each bad field named', 'Error'];

const OPERATIONS: Operation[] = [
  { method: 'get', path: '/healthz', summary: 'The process answers', open: true, responses: { 200: ['always, while the process runs', 'Health'] } },
  {
    method: 'get',
    path: '/readyz',
    summary: 'PostgreSQL answers (within the last 3 s, or now)',
    open: true,
    responses: { 200: ['ready', 'Ready'], 503: ['not ready, and why', 'NotReady'] },
  },
  { method: 'get', path: '/openapi.json', summary: 'This document', open: true, responses: { 200: ['the OpenAPI 3.1 document', 'document'] } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics of the admin API', responses: { 200: ['Prometheus text exposition', 'text'] } },
  { method: 'get', path: '/servers', summary: 'List the servers', responses: { 200: ['every server', 'ServerList'] } },
  { method: 'post', path: '/servers', summary: 'Add a server', body: 'NewServer', responses: { 201: ['the new server, with its token', 'Server'], 400: invalid } },
  { method: 'patch', path: '/servers/{token}', summary: 'Rename a server (its token stays)', body: 'NewServer', responses: { 200: ['the renamed server', 'Server'], 400: invalid, 404: noServer } },
  {
    method: 'delete',
    path: '/servers/{token}',
    summary: 'Remove a server',
    responses: { 204: ['removed', 'empty'], 400: invalid, 404: noServer, 409: ['it still has tracking domains or API keys in force (named)', 'Error'] },
  },
  {
    method: 'post',
    path: '/servers/{token}/api-keys',
    summary: "Make a read-only API key for the server's numbers; the key is in this answer only",
    body: 'NewApiKey',
    responses: { 201: ['the key', 'CreatedApiKey'], 400: invalid, 404: noServer },
  },
  { method: 'get', path: '/servers/{token}/api-keys', summary: "List the server's API keys, revoked ones included", responses: { 200: ['its keys', 'ApiKeyList'], 400: invalid, 404: noServer } },
  {
    method: 'delete',
    path: '/servers/{token}/api-keys/{id}',
    summary: 'Revoke an API key (at once; revoking again changes nothing)',
    responses: { 204: ['revoked', 'empty'], 400: invalid, 404: ['no such key for this server', 'Error'] },
  },
  {
    method: 'get',
    path: '/domains',
    summary: 'List the tracking domains',
    query: { server: { description: "Only this server's", schema: serverTokenSchema } },
    responses: { 200: ['the tracking domains', 'TrackingDomainList'], 400: invalid, 422: ['no server has the token in `server`', 'Error'] },
  },
  {
    method: 'post',
    path: '/domains',
    summary: 'Add a tracking domain',
    body: 'NewTrackingDomain',
    responses: { 201: ['the domain (Location: /domains/<host>)', 'TrackingDomain'], 400: invalid, 409: ['already a tracking domain', 'Error'], 422: ['no server has the token in `server`', 'Error'] },
  },
  { method: 'get', path: '/domains/{host}', summary: 'Read a tracking domain', responses: { 200: ['the domain', 'TrackingDomain'], 400: invalid, 404: noDomain } },
  {
    method: 'patch',
    path: '/domains/{host}',
    summary: "Change a tracking domain's settings (those not given stay)",
    body: 'TrackingDomainUpdate',
    responses: { 200: ['the domain', 'TrackingDomain'], 400: invalid, 404: noDomain },
  },
  { method: 'delete', path: '/domains/{host}', summary: 'Remove a tracking domain', responses: { 204: ['removed', 'empty'], 400: invalid, 404: noDomain } },
  {
    method: 'post',
    path: '/domains/{host}/check',
    summary: 'Check DNS and the proxy (GET / answering `Hello.`); the result is recorded on the domain',
    body: 'DomainCheckOptions',
    responses: { 200: ['the check, ok or not, with its steps and advice', 'DomainCheckResult'], 400: invalid, 404: noDomain },
  },
  {
    method: 'get',
    path: '/servers/{token}/stats/summary',
    summary: "The server's numbers for the range: counts, rates, and the machines left out",
    apiKey: true,
    query: statsScopeQuery,
    responses: { 200: ['the summary', 'StatsSummary'], 400: badStatsQuery, 404: noServer },
  },
  {
    method: 'get',
    path: '/servers/{token}/stats/series',
    summary: 'The counts hour by hour or day by day, zero-filled',
    apiKey: true,
    query: { ...statsScopeQuery, ...statsParameter('by', '`hour` (ranges up to 31 days) or `day`; default: `hour` up to 3 days, else `day`') },
    responses: { 200: ['the series', 'StatsSeries'], 400: badStatsQuery, 404: noServer },
  },
  {
    method: 'get',
    path: '/servers/{token}/stats/tags',
    summary: 'The counts and rates per tag',
    apiKey: true,
    query: statsScopeQuery,
    responses: { 200: ['the tags', 'StatsTags'], 400: badStatsQuery, 404: noServer },
  },
  {
    method: 'get',
    path: '/servers/{token}/stats/links',
    summary: 'The most clicked URLs across messages',
    apiKey: true,
    query: { ...statsScopeQuery, ...statsParameter('limit', `How many, 1-${MAX_TOP_LINKS} (default ${DEFAULT_TOP_LINKS})`) },
    responses: { 200: ['the top links', 'StatsLinks'], 400: badStatsQuery, 404: noServer },
  },
  {
    method: 'get',
    path: '/servers/{token}/messages/{idOrToken}',
    summary: 'One message of the server, by its token or the platform\'s message id, with its timeline',
    apiKey: true,
    responses: { 200: ['the message', 'MessageTimeline'], 400: invalid, 404: ['no server has this token, or it has no such message', 'Error'] },
  },
];

const PATH_PARAMETERS: Record<string, { description: string; schema: Record<string, unknown> }> = {
  token: { description: "A server's token", schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
  host: { description: 'A tracking domain (normalised: lower case, no trailing dot)', schema: { type: 'string' } },
  id: { description: "An API key's id", schema: { type: 'integer', minimum: 1, maximum: 2147483647 } },
  idOrToken: { description: "A message's token or the platform's message id (percent-encoded; a token wins)", schema: { type: 'string', minLength: 1, maxLength: 1000 } },
};

/** zod's JSON Schema for each component, referring to the others by `#/components/schemas/<name>`. */
function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  // io 'input': what a client sends (request bodies) and, for the answers (no transforms), what it gets.
  const { schemas } = z.toJSONSchema(registry, { io: 'input', target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` });
  // Each would name its own dialect and id; inside the document, OpenAPI 3.1's dialect applies and the path is the id.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]));
}

const reference = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

function content(answer: Answer): Record<string, unknown> | undefined {
  if (answer === 'empty') return undefined;
  if (answer === 'text') return { 'text/plain': { schema: { type: 'string' } } };
  if (answer === 'document') return { 'application/json': { schema: { type: 'object' } } };
  return { 'application/json': { schema: reference(answer) } };
}

function operationObject(operation: Operation): Record<string, unknown> {
  const parameters = [
    ...[...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, ...PATH_PARAMETERS[name] })),
    ...Object.entries(operation.query ?? {}).map(([name, { description, schema }]) => ({ name, in: 'query', required: false, description, schema: z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) })),
  ].map(({ schema, ...parameter }) => {
    const { $schema: _dialect, ...rest } = schema as Record<string, unknown>;
    return { ...parameter, schema: rest };
  });
  const responses: Record<number, [string, Answer]> = {
    ...operation.responses,
    ...(!operation.open && {
      401: ['missing or wrong admin token, or an unknown or revoked API key', 'Error'],
      403: operation.apiKey ? ["an API key of another server (a key reads its own server's numbers only)", 'Error'] : ["an API key (a key reads its own server's numbers only)", 'Error'],
      429: operation.apiKey
        ? ['too many failed authentications from this address, or an API key over its requests per minute (Retry-After says when to try again)', 'Error']
        : ['too many failed authentications from this address (Retry-After says when to try again)', 'Error'],
    }),
    ...(operation.apiKey && { 503: ['the read took longer than the statement timeout and was cancelled: ask for less, or try again later', 'Error'] }),
    ...(operation.body && { 413: ['body over 100 kB', 'Error'], 415: ['body not JSON', 'Error'] }),
    500: ['anything else (details only in the log)', 'Error'],
  } as Record<number, [string, Answer]>;
  return {
    summary: operation.summary,
    // The document's default is the admin token; open operations need nothing, the numbers take either.
    ...(operation.open && { security: [] }),
    ...(operation.apiKey && { security: [{ adminToken: [] }, { apiKey: [] }] }),
    ...(parameters.length > 0 && { parameters }),
    ...(operation.body && { requestBody: { required: false, content: { 'application/json': { schema: reference(operation.body) } } } }),
    responses: Object.fromEntries(Object.entries(responses).map(([status, [description, answer]]) => [status, { description, ...(content(answer) && { content: content(answer) }) }])),
  };
}

/** The whole document (built once per app). */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) (paths[operation.path] ??= {})[operation.method] = operationObject(operation);
  return {
    openapi: '3.1.0',
    info: {
      title: 'mailbeacon admin API',
      version,
      description: "Servers, tracking domains, API keys, and each server's numbers (stats and messages: with the admin token, or a read-only API key of that server). See apps/admin/README.md.",
    },
    security: [{ adminToken: [] }],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN: every route' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'mbk_…', description: "A server's read-only API key: GET under /servers/{its token}/stats and /servers/{its token}/messages only" },
      },
    },
  };
}

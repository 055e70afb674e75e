import type { Logger } from 'pino';
import { describeErrorOf } from './run-service';
import { withTimeout } from './with-timeout';

/**
 * What checkEvictionPolicy needs of a Redis client: ioredis's `config` and `info` fit, so
 * this package does not depend on ioredis. A Redis Cluster client (`isCluster`, `nodes`) is
 * checked on each of its masters: CONFIG and INFO would reach only one of them.
 */
export interface RedisPolicySource {
  config(subcommand: 'GET', parameter: string): Promise<unknown>;
  info(section: string): Promise<string>;
  readonly isCluster?: boolean;
  nodes?(role: 'master'): RedisPolicySource[];
}

/** The only policy under which Redis never drops a queued job to make room. */
export const REQUIRED_EVICTION_POLICY = 'noeviction';

export interface EvictionPolicyCheck {
  /** e.g. `noeviction`, `allkeys-lru`; undefined when neither CONFIG GET nor INFO told. */
  policy: string | undefined;
  /** Which command told: CONFIG GET, or INFO memory when CONFIG is disabled (managed Redis). */
  source: 'config' | 'info' | undefined;
  /** True only when the policy is known to be noeviction (on every master of a cluster). */
  ok: boolean;
  /** A cluster's masters, each with what it said; `policy` and `source` are then the first bad or unknown one's. */
  nodes?: NodePolicy[];
}

export interface NodePolicy {
  /** host:port */
  node: string;
  policy: string | undefined;
  source: EvictionPolicyCheck['source'];
}

export interface EvictionPolicyOptions {
  /** Each command's answer is awaited this long at most (default 5 s): start-up must not hang on it. */
  timeoutMs?: number;
}

/** CONFIG GET's reply: [name, value] in RESP2, { name: value } in RESP3. */
function policyFromConfigReply(reply: unknown): string | undefined {
  if (Array.isArray(reply)) {
    const index = reply.findIndex((item) => String(item).toLowerCase() === 'maxmemory-policy');
    return index >= 0 && reply[index + 1] !== undefined ? String(reply[index + 1]) : undefined;
  }
  if (reply && typeof reply === 'object') {
    const value = (reply as Record<string, unknown>)['maxmemory-policy'];
    return value === undefined ? undefined : String(value);
  }
  return undefined;
}

function policyFromInfo(info: string): string | undefined {
  return /^maxmemory_policy:([^\r\n]+)/m.exec(info)?.[1].trim() || undefined;
}

/** Reads Redis's maxmemory-policy: CONFIG GET first, INFO memory when CONFIG is disabled or renamed. Never rejects: what failed is in `errors`. */
export async function readEvictionPolicy(
  redis: RedisPolicySource,
  options: EvictionPolicyOptions = {},
): Promise<{ policy: string | undefined; source: EvictionPolicyCheck['source']; errors: string[] }> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const errors: string[] = [];
  try {
    const policy = policyFromConfigReply(await withTimeout(redis.config('GET', 'maxmemory-policy'), timeoutMs, 'CONFIG GET maxmemory-policy'));
    if (policy) return { policy, source: 'config', errors };
    errors.push('CONFIG GET maxmemory-policy: no value');
  } catch (error) {
    errors.push(describeErrorOf('CONFIG GET maxmemory-policy', error));
  }
  try {
    const policy = policyFromInfo(await withTimeout(redis.info('memory'), timeoutMs, 'INFO memory'));
    if (policy) return { policy, source: 'info', errors };
    errors.push('INFO memory: no maxmemory_policy field');
  } catch (error) {
    errors.push(describeErrorOf('INFO memory', error));
  }
  return { policy: undefined, source: undefined, errors };
}

type PolicyRead = Awaited<ReturnType<typeof readEvictionPolicy>>;

/** host:port of a cluster's node, from its ioredis options. */
function nodeName(redis: RedisPolicySource): string {
  const { host = '?', port = '?' } = (redis as { options?: { host?: string; port?: number } }).options ?? {};
  return `${host}:${port}`;
}

/**
 * Warns loudly (one `warn` line) when Redis may evict keys: BullMQ keeps jobs in ordinary
 * keys, and any policy but noeviction lets Redis silently drop queued jobs when it runs out
 * of memory. On a Redis Cluster every master is asked (the warning names those at fault).
 * Logs at info when the policy cannot be read; never throws.
 */
export async function checkEvictionPolicy(redis: RedisPolicySource, logger: Pick<Logger, 'warn' | 'info' | 'debug'>, options: EvictionPolicyOptions = {}): Promise<EvictionPolicyCheck> {
  const masters = redis.isCluster && redis.nodes ? redis.nodes('master') : undefined;
  const reads: Array<PolicyRead & { node?: string }> = masters
    ? await Promise.all(masters.map(async (node) => ({ node: nodeName(node), ...(await readEvictionPolicy(node, options)) })))
    : [await readEvictionPolicy(redis, options)];
  const nodes = masters && reads.map(({ node, policy, source }): NodePolicy => ({ node: node!, policy, source }));
  const bad = reads.filter((read) => read.policy !== undefined && read.policy !== REQUIRED_EVICTION_POLICY);
  const unknown = reads.filter((read) => read.policy === undefined);
  const where = (list: typeof reads) => (masters ? { nodes: list.map((read) => read.node) } : {});

  if (bad.length > 0) {
    const { policy, source } = bad[0];
    logger.warn(
      { maxmemoryPolicy: policy, required: REQUIRED_EVICTION_POLICY, source, ...where(bad) },
      `Redis maxmemory-policy is ${policy}: under memory pressure Redis may silently drop queued jobs. ` +
        `Set maxmemory-policy ${REQUIRED_EVICTION_POLICY} (redis.conf, CONFIG SET maxmemory-policy ${REQUIRED_EVICTION_POLICY}, or your managed Redis's parameter group)`,
    );
    return { policy, source, ok: false, ...(nodes && { nodes }) };
  }
  if (unknown.length > 0 || reads.length === 0) {
    const errors = masters ? unknown.map((read) => ({ node: read.node, errors: read.errors })) : unknown[0].errors;
    logger.info(
      { errors: reads.length === 0 ? ['no Redis Cluster master known'] : errors },
      `could not check Redis's maxmemory-policy (CONFIG and INFO both unavailable); make sure it is ${REQUIRED_EVICTION_POLICY}`,
    );
    return { policy: undefined, source: undefined, ok: false, ...(nodes && { nodes }) };
  }
  const { policy, source } = reads[0];
  logger.debug({ maxmemoryPolicy: policy, source, ...where(reads) }, 'Redis maxmemory-policy is noeviction');
  return { policy, source, ok: true, ...(nodes && { nodes }) };
}

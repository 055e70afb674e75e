import type { Logger } from 'pino';
import { describeError } from './run-service';
import { withTimeout } from './with-timeout';

/**
 * What checkEvictionPolicy needs of a Redis client: ioredis's `config` and `info` fit, so
 * this package does not depend on ioredis (Cluster clients fit too: they ask one node).
 */
export interface RedisPolicySource {
  config(subcommand: 'GET', parameter: string): Promise<unknown>;
  info(section: string): Promise<string>;
}

/** The only policy under which Redis never drops a queued job to make room. */
export const REQUIRED_EVICTION_POLICY = 'noeviction';

export interface EvictionPolicyCheck {
  /** e.g. `noeviction`, `allkeys-lru`; undefined when neither CONFIG GET nor INFO told. */
  policy: string | undefined;
  /** Which command told: CONFIG GET, or INFO memory when CONFIG is disabled (managed Redis). */
  source: 'config' | 'info' | undefined;
  /** True only when the policy is known to be noeviction. */
  ok: boolean;
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

/** `command: error`, without repeating the command (a timeout names it already). */
function labelled(command: string, error: unknown): string {
  const text = describeError(error);
  return text.startsWith(`${command}:`) ? text : `${command}: ${text}`;
}

/** Reads Redis's maxmemory-policy: CONFIG GET first, INFO memory when CONFIG is disabled or renamed. */
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
    errors.push(labelled('CONFIG GET maxmemory-policy', error));
  }
  try {
    const policy = policyFromInfo(await withTimeout(redis.info('memory'), timeoutMs, 'INFO memory'));
    if (policy) return { policy, source: 'info', errors };
    errors.push('INFO memory: no maxmemory_policy field');
  } catch (error) {
    errors.push(labelled('INFO memory', error));
  }
  return { policy: undefined, source: undefined, errors };
}

/**
 * Warns loudly (one `warn` line) when Redis may evict keys: BullMQ keeps jobs in ordinary
 * keys, and any policy but noeviction lets Redis silently drop queued jobs when it runs out
 * of memory. Logs at info when the policy cannot be read; never throws.
 */
export async function checkEvictionPolicy(redis: RedisPolicySource, logger: Pick<Logger, 'warn' | 'info' | 'debug'>, options: EvictionPolicyOptions = {}): Promise<EvictionPolicyCheck> {
  let read: Awaited<ReturnType<typeof readEvictionPolicy>>;
  try {
    read = await readEvictionPolicy(redis, options);
  } catch (error) {
    read = { policy: undefined, source: undefined, errors: [describeError(error)] };
  }
  const { policy, source, errors } = read;
  if (policy === undefined) {
    logger.info({ errors }, `could not check Redis's maxmemory-policy (CONFIG and INFO both unavailable); make sure it is ${REQUIRED_EVICTION_POLICY}`);
    return { policy, source, ok: false };
  }
  if (policy !== REQUIRED_EVICTION_POLICY) {
    logger.warn(
      { maxmemoryPolicy: policy, required: REQUIRED_EVICTION_POLICY, source },
      `Redis maxmemory-policy is ${policy}: under memory pressure Redis may silently drop queued jobs. ` +
        `Set maxmemory-policy ${REQUIRED_EVICTION_POLICY} (redis.conf, CONFIG SET maxmemory-policy ${REQUIRED_EVICTION_POLICY}, or your managed Redis's parameter group)`,
    );
    return { policy, source, ok: false };
  }
  logger.debug({ maxmemoryPolicy: policy, source }, 'Redis maxmemory-policy is noeviction');
  return { policy, source, ok: true };
}

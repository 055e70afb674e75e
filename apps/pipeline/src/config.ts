import path from 'node:path';
import { databaseUrl, loadConfig, redisUrl, type Env } from '@mailbeacon/contracts';
import { z } from 'zod';

const schema = z.object({
  REDIS_URL: redisUrl(),
  DATABASE_URL: databaseUrl(),
  /** Where `npm start` keeps the signing key it generates when MAILBEACON_SECRET is unset. */
  MAILBEACON_SECRET_FILE: z.string().min(1).default('var/mailbeacon.secret'),
  /** `pretty` lines for a terminal, or the apps' own JSON lines. */
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
});

export type PipelineConfig = z.output<typeof schema> & { root: string };

/** The repository root: this file is apps/pipeline/src/config.ts or its build in dist/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export function loadPipelineConfig(env: Env = process.env): PipelineConfig {
  const config = loadConfig(schema, env);
  return { ...config, MAILBEACON_SECRET_FILE: path.resolve(REPO_ROOT, config.MAILBEACON_SECRET_FILE), root: REPO_ROOT };
}

import path from 'node:path';
import { databaseUrl, loadConfig, redisUrl, signingSecretFile, type Env } from '@mailbeacon/contracts';
import { z } from 'zod';

const schema = z.object({
  REDIS_URL: redisUrl(),
  DATABASE_URL: databaseUrl(),
  /** `pretty` lines for a terminal, or the apps' own JSON lines. */
  LOG_FORMAT: z.enum(['pretty', 'json']).default('pretty'),
});

export type PipelineConfig = z.output<typeof schema> & {
  root: string;
  /** Where `npm start` keeps the signing key it generates when MAILBEACON_SECRET is unset (absolute). */
  secretFile: string;
};

/** The repository root: this file is apps/pipeline/src/config.ts or its build in dist/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export function loadPipelineConfig(env: Env = process.env): PipelineConfig {
  const config = loadConfig(schema, env);
  // Where every app and the CLI look for it (MAILBEACON_SECRET_FILE, else var/mailbeacon.secret).
  return { ...config, secretFile: signingSecretFile(env, REPO_ROOT)!, root: REPO_ROOT };
}

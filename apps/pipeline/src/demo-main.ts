import path from 'node:path';
import { checkClusterQueuePrefix, ConfigError, databaseUrl, loadConfig, port, queuePrefix, redisUrl } from '@mailbeacon/contracts';
import { describeError } from '@mailbeacon/service';
import { z } from 'zod';
import { REPO_ROOT } from './config';
import { DemoError, runDemo } from './demo';

/* `npm run demo`, against the pipeline `npm start` runs (same environment variables). */
const schema = z.object({
  REDIS_URL: redisUrl(),
  DATABASE_URL: databaseUrl(),
  QUEUE_PREFIX: queuePrefix(),
  TRACKER_PORT: port(8080),
  TRACK_HOST_HEADER: z.string().min(1).default('X-Postal-Track-Host'),
  MAILBEACON_CORPUS: z.string().min(1).default(path.resolve(REPO_ROOT, '..', 'shared', 'corpus')),
});

async function main(): Promise<void> {
  const config = checkClusterQueuePrefix(loadConfig(schema, process.env));
  await runDemo({
    redisUrl: config.REDIS_URL,
    databaseUrl: config.DATABASE_URL,
    queuePrefix: config.QUEUE_PREFIX,
    trackerUrl: `http://127.0.0.1:${config.TRACKER_PORT}`,
    trackHostHeader: config.TRACK_HOST_HEADER,
    corpusDir: path.resolve(config.MAILBEACON_CORPUS),
    print: (line) => process.stdout.write(`${line}\n`),
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`mailbeacon demo: bad configuration:\n${error.message}\n`);
    else if (error instanceof DemoError) process.stderr.write(`mailbeacon demo: ${error.message}\n`);
    else process.stderr.write(`mailbeacon demo failed: ${describeError(error)}\n`);
    process.exit(error instanceof ConfigError ? 78 : 1);
  },
);

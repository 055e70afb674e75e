import type { Migration } from 'kysely';
import * as m0001 from './0001-servers-and-tracking-domains';
import * as m0002 from './0002-tracking-stats';
import * as m0003 from './0003-tracking-settings-notifications';
import * as m0004 from './0004-console-sessions';
import * as m0005 from './0005-stats-rollups';
import * as m0006 from './0006-api-keys';

/**
 * Every migration, by name, in order. Imported statically so they ship inside the compiled
 * package and need no file-system loader (kysely's FileMigrationProvider wants compiled JS
 * in an absolute folder). Later issues append their own.
 */
export const migrations: Record<string, Migration> = {
  '0001-servers-and-tracking-domains': m0001,
  '0002-tracking-stats': m0002,
  '0003-tracking-settings-notifications': m0003,
  '0004-console-sessions': m0004,
  '0005-stats-rollups': m0005,
  '0006-api-keys': m0006,
};

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The console's built files (packages/console/dist), and which of them the login page needs. */
export interface ConsoleAssets {
  dir: string;
  /** Paths under dir (`assets/login-….js`) served without a session: the login page's own. */
  publicFiles: ReadonlySet<string>;
}

/** The console was not built (or its build is incomplete): the API still serves, /console/ says this. */
export class ConsoleAssetsMissingError extends Error {
  override readonly name = 'ConsoleAssetsMissingError';
}

interface ManifestChunk {
  file: string;
  css?: string[];
  assets?: string[];
  imports?: string[];
}

const LOGIN_ENTRY = 'login.html';

/** Every file an entry loads: its chunk, its CSS and assets, and those of the chunks it imports. */
function filesOf(manifest: Record<string, ManifestChunk>, key: string, seen = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (!chunk || seen.has(key)) return new Set();
  seen.add(key);
  const files = new Set([chunk.file, ...(chunk.css ?? []), ...(chunk.assets ?? [])]);
  for (const imported of chunk.imports ?? []) for (const file of filesOf(manifest, imported, seen)) files.add(file);
  return files;
}

/**
 * Finds the console's build through its package (a workspace link in a checkout, a copied
 * package in the image), so the admin app does not depend on where it runs from.
 */
export function findConsoleAssets(packageJson: () => string = () => require.resolve('@mailbeacon/console/package.json')): ConsoleAssets {
  let dir: string;
  try {
    dir = path.join(path.dirname(packageJson()), 'dist');
  } catch (error) {
    throw new ConsoleAssetsMissingError(`the console package @mailbeacon/console is not installed (${(error as Error).message.split('\n')[0]})`);
  }
  const manifestFile = path.join(dir, '.vite', 'manifest.json');
  const needed = ['index.html', LOGIN_ENTRY].map((file) => path.join(dir, file));
  const missing = [manifestFile, ...needed].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new ConsoleAssetsMissingError(`the console is not built: ${missing.join(', ')} missing; run npm run build (npm ci and npm start do it)`);
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, ManifestChunk>;
  if (!manifest[LOGIN_ENTRY]) throw new ConsoleAssetsMissingError(`the console's build manifest ${manifestFile} has no ${LOGIN_ENTRY} entry; rebuild it (npm run build)`);
  return { dir, publicFiles: filesOf(manifest, LOGIN_ENTRY) };
}

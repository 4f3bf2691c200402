// Locations inside the installed package (bundled model and datasets), found from this file's
// location so they work from src/ under tsx and from the esbuild bundles in dist/.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  // CommonJS bundles (extension, trainer) have __dirname; ES modules (CLI, tsx) have import.meta.
  let dir = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'prompt-tuning-studio') return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the prompt-tuning-studio package folder');
    dir = parent;
  }
}

/** This tool's own cache (run-time files; never model weights): PTUNE_CACHE_DIR, else XDG's cache folder. */
export function cacheRoot(): string {
  return process.env.PTUNE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'prompt-tuning-studio');
}

export const bundledModelDir = () => join(packageRoot(), 'models', 'stories260K');

// Where the snakebridge Python package that workers run is found: bundled in
// this npm package (a link to the repository's python/ folder during
// development), so the worker's code always matches the host's.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory to put on PYTHONPATH so that `python -m snakebridge` runs the bundled runtime. */
export function runtimePath(): string {
  // src/python/runtime.ts and dist/python/runtime.js are both two levels below the package root.
  const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const bundled = join(packageRoot, 'python');
  if (!existsSync(join(bundled, 'snakebridge', '__init__.py'))) {
    throw new Error(`the snakebridge Python runtime is missing from ${bundled}; reinstall @snakebridge/process-pool`);
  }
  return bundled;
}

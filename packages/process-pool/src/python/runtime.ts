// Where the snakebridge Python package that workers run is found, so the
// worker's code always matches the host's. A published package carries a copy
// in python-runtime/ (made by scripts/bundle-runtime.mjs on pack, because npm
// does not follow symlinks); in the repository, python/ links to ../../python.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory to put on PYTHONPATH so that `python -m snakebridge` runs the bundled runtime. */
export function runtimePath(): string {
  const packageRoot = packageRootOf(dirname(fileURLToPath(import.meta.url)));
  // In the workspace, `python` (a link to the sources) comes first: a python-runtime/ copy there is only a
  // packing in progress (or left by one that failed), never what to run. A published package has no `python`.
  const candidates = [join(packageRoot, 'python'), join(packageRoot, 'python-runtime')];
  const found = candidates.find((dir) => existsSync(join(dir, 'snakebridge', '__init__.py')));
  if (found === undefined) {
    throw new Error(
      `the snakebridge Python runtime is missing (looked in ${candidates.join(' and ')}); reinstall @snakebridge/process-pool`,
    );
  }
  return found;
}

/** The nearest folder up from `dir` with a package.json: this module is src/python/runtime.ts, or bundled into dist/index.js. */
function packageRootOf(dir: string): string {
  let current = dir;
  while (!existsSync(join(current, 'package.json'))) {
    const parent = dirname(current);
    if (parent === current) return dir;
    current = parent;
  }
  return current;
}

// Copies the repository's python/snakebridge into python-runtime/ before
// `npm pack`/`pnpm publish`: npm does not follow the python/ symlink used in
// development, so without this copy the published package has no runtime.
// `node scripts/bundle-runtime.mjs clean` removes the copy again (postpack);
// `--out DIR` copies into DIR instead (the package test uses it).

import { cpSync, existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const target = outFlag === -1 ? join(packageRoot, 'python-runtime') : process.argv[outFlag + 1];
const source = join(packageRoot, '..', '..', 'python', 'snakebridge');

rmSync(target, { recursive: true, force: true });
if (process.argv[2] !== 'clean') {
  if (!existsSync(join(source, '__init__.py'))) {
    throw new Error(`no Python runtime at ${source}: run this from the SnakeBridge repository`);
  }
  const skip = new Set(['__pycache__', '.pytest_cache', '.ruff_cache']);
  cpSync(source, join(target, 'snakebridge'), {
    recursive: true,
    filter: (path) => !skip.has(basename(path)) && !path.endsWith('.pyc'),
  });
}

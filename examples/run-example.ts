// What the examples' tests share: running one example as a user would (tsx,
// the packages' sources, NODE_ENV=production) and reading what it printed.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** Runs `examples/<file>` (`stream/main.ts`) from the repository's root; resolves with its output once it exits with 0. */
export function runExample(file: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', '--conditions=@snakebridge/source', `examples/${file}`], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

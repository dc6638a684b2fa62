// The README's example is this folder's readme.ts and its config, verbatim; it
// runs, and its generated declarations match the installed Python.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runExample } from './run-example.js';

const run = promisify(execFile);

describe('README example', () => {
  it('is the code of examples/readme.ts and its config, snakebridge.config.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const file of ['./readme.ts', './snakebridge.config.ts']) {
      const example = readFileSync(new URL(file, import.meta.url), 'utf8');
      expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
    }
  });

  it('runs against real Python and prints what its comments say', async () => {
    const { stdout } = await runExample('readme.ts');
    expect(stdout.split('\n')).toEqual([
      '5',
      '5',
      'SnakeBridge calls [...]',
      "[ 'fig', 'apple', 'banana' ]",
      '0',
      '1',
      '4',
      '9',
      'JSONDecodeError Expecting value: line 1 column 1 (char 0)',
      '',
    ]);
  }, 30_000);

  it('is typed by declarations that match the installed Python (snakebridge types --check)', async () => {
    // The drift check a project runs in CI, run on our own example: a new numpy (python/constraints.txt)
    // or a generator change fails here until `pnpm --filter @snakebridge/examples types` is run again.
    const env = { ...process.env, SNAKEBRIDGE_VENV: '../.venv' };
    const bin = fileURLToPath(new URL('../packages/cli/src/bin.ts', import.meta.url));
    const { stderr } = await run(
      process.execPath,
      ['--import', 'tsx', '--conditions=@snakebridge/source', bin, 'types', '--check'],
      {
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        env,
      },
    );
    expect(stderr).toContain('the declarations match the installed Python');
  }, 120_000);
});

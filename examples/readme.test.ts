// The README's example is this folder's readme.ts, verbatim, and it runs.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

describe('README example', () => {
  it('is the code of examples/readme.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./readme.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('runs against real Python and prints what its comments say', async () => {
    const env = { ...process.env, NODE_ENV: 'production' };
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--conditions=@snakebridge/source', 'examples/readme.ts'],
      {
        cwd: root,
        env,
      },
    );
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
});

// The README's example is test/fixtures/readme-example.ts, verbatim, and it runs.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));
const python = fileURLToPath(new URL('../../../.venv/bin/python', import.meta.url));

describe('README example', () => {
  it('is the code of test/fixtures/readme-example.ts', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./fixtures/readme-example.ts', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('runs against real Python and prints what its comments say', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--conditions=@snakebridge/source', 'readme-example.ts'],
      { cwd: fixtures, env: { ...process.env, NODE_ENV: 'production', SNAKEBRIDGE_PYTHON: python } },
    );
    const example = readFileSync(new URL('./fixtures/readme-example.ts', import.meta.url), 'utf8');
    const promised = [...example.matchAll(/console\.log\(.*\/\/ (.*)$/gm)].map((match) => match[1]);
    expect(stdout.trimEnd().split('\n')).toEqual(promised);
  }, 30_000);
});

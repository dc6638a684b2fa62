// examples/dspy runs against real Python and DSPy and prints what its README says.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

it('configures DSPy with a dummy LM in a session and runs programs built in TypeScript and in Python', async () => {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@snakebridge/source', 'examples/dspy/main.ts'],
    { cwd: root, env: { ...process.env, NODE_ENV: 'production' } },
  );
  expect(stdout.trimEnd().split('\n')).toEqual([
    'Predict: Paris',
    'CheckedAnswer reasoning: Faust is the best-known play of German literature.',
    'CheckedAnswer answer: Goethe (correct)',
    'language model calls: 3',
  ]);
  expect(stderr).toBe('');
}, 60_000);

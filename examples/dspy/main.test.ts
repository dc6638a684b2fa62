// examples/dspy runs against real Python and DSPy and prints what its README says.

import { expect, it } from 'vitest';
import { runExample } from '../run-example.js';

it('configures DSPy with a dummy LM in a session and runs programs built in TypeScript and in Python', async () => {
  const { stdout, stderr } = await runExample('dspy/main.ts');
  expect(stdout.trimEnd().split('\n')).toEqual([
    'Predict: Paris',
    'CheckedAnswer reasoning: Faust is the best-known play of German literature.',
    'CheckedAnswer answer: Goethe (correct)',
    'language model calls: 3',
  ]);
  expect(stderr).toBe('');
}, 60_000);

// DSPy programs built and run from TypeScript, inside a session, with DSPy's
// DummyLM standing in for a language model (no API key, no network).
//
// Run: npx tsx --conditions=@snakebridge/source examples/dspy/main.ts

import { fileURLToPath } from 'node:url';
import { createBridge, kwargs } from '@snakebridge/core';

await using bridge = await createBridge({
  python: {
    // programs.py sits beside this file: the workers import it from here.
    path: [fileURLToPath(new URL('.', import.meta.url))],
    // litellm (under DSPy) fetches a price list from the internet when imported, unless told not to.
    env: { LITELLM_LOCAL_MODEL_COST_MAP: 'True' },
  },
  pool: { max: 2 },
  logLevel: 'warn',
});

// dspy.configure() sets the language model of one Python process. A session pins
// every call below to one worker, so the programs run where the model was configured.
await using session = await bridge.session();
const dspy = session.module('dspy');
const { DummyLM } = session.module('dspy.utils.dummies');

// The dummy model answers with the first entry whose key is in the prompt; a real
// one would be dspy.LM('openai/gpt-4o-mini'). Only the check's prompt holds 'Goethe'.
const lm = await DummyLM({
  Goethe: { verdict: 'correct' },
  'Who wrote Faust?': { reasoning: 'Faust is the best-known play of German literature.', answer: 'Goethe' },
  'What is the capital of France?': { answer: 'Paris' },
});
await dspy.configure(kwargs({ lm }));

// A program built from TypeScript: a signature string, as in Python.
const qa = await dspy.Predict('question -> answer');
const prediction = await qa(kwargs({ question: 'What is the capital of France?' }));
console.log(`Predict: ${await prediction.answer}`);

// A program written in Python (programs.py), made and run from here.
const { CheckedAnswer, calls_made } = session.module('programs');
const program = await CheckedAnswer();
const result = await program(kwargs({ question: 'Who wrote Faust?' }));
console.log(`CheckedAnswer reasoning: ${await result.reasoning}`);
console.log(`CheckedAnswer answer: ${await result.answer} (${await result.verdict})`);

console.log(`language model calls: ${await calls_made(lm)}`);

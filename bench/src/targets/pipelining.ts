// Pipelining (docs/architecture.md): ten dependent calls on one Python object
// (`Chain()`, then `step()` nine times, each on the result of the one before),
// made at once and awaited at the end, against the same ten calls each
// awaited before the next is made. Same bridge, samples interleaved.

import { fileURLToPath } from 'node:url';
import { createBridge, release } from '@snakebridge/core';
import { report, summarize } from '../measure.js';

const STEPS = 10;
const SAMPLES = 1_000;
const WARMUP = 100;

const bridge = await createBridge(
  {
    serializer: 'msgpack',
    logLevel: 'warn',
    python: { path: [fileURLToPath(new URL('../../python', import.meta.url))] },
    pool: { min: 1, max: 1, pingIntervalMs: 0 },
  },
  { env: {} },
);
const work = bridge.module('bench_work');

/** The ten calls made at once, each on the result of the one before (not back yet): its last result, and a release. */
async function pipelined(): Promise<[object, () => Promise<void>]> {
  const made = work.Chain();
  let chain = made;
  for (let step = 1; step < STEPS; step++) chain = chain.step();
  return [await chain, () => release(made, chain)];
}

/** The same ten calls, each awaited before the next is made. */
async function awaited(): Promise<[object, () => Promise<void>]> {
  let chain = await work.Chain();
  for (let step = 1; step < STEPS; step++) chain = await chain.step();
  return [chain, () => release(chain)];
}

/** Microseconds from the first call to the last result; what the chain made is then checked and freed, untimed. */
async function timed(chain: () => Promise<[object, () => Promise<void>]>, check: boolean): Promise<number> {
  const started = performance.now();
  const [last, free] = await chain();
  const elapsed = (performance.now() - started) * 1000;
  if (check && (await (last as { steps: PromiseLike<number> }).steps) !== STEPS - 1) {
    throw new Error('the chain did not run every step');
  }
  await free();
  return elapsed;
}

for (let i = 0; i < WARMUP; i++) {
  await timed(pipelined, i === 0);
  await timed(awaited, i === 0);
}
const pipelinedTimes = new Float64Array(SAMPLES);
const awaitedTimes = new Float64Array(SAMPLES);
for (let i = 0; i < SAMPLES; i++) {
  pipelinedTimes[i] = await timed(pipelined, false);
  awaitedTimes[i] = await timed(awaited, false);
}
const fast = summarize(pipelinedTimes);
const slow = summarize(awaitedTimes);
report('pipelining', {
  '10 dependent calls, pipelined': { ...fast },
  '10 dependent calls, each awaited': { ...slow },
  'pipelining speed-up': { awaitedOverPipelined: slow.p50 / fast.p50 },
});
await bridge.close();

// Event-loop delay while a 100 MB payload goes to Python and back, with the
// encode and decode on the main thread and offloaded to worker threads.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { StdioInvoker } from '@snakebridge/adapter-stdio';
import { JsonSerializer, resolveConfig, type Serializer } from '@snakebridge/core';
import { MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { type Results, records, report } from '../measure.js';

const WORK = fileURLToPath(new URL('../../python', import.meta.url));
const MB100 = 100 * 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function delays(serializer: Serializer, payload: unknown, thresholdBytes: number) {
  const invoker = new StdioInvoker({
    config: resolveConfig(
      {
        pool: { min: 1, max: 1, pingIntervalMs: 0 },
        python: { path: [WORK] },
        offload: { thresholdBytes, threads: 2 },
        logLevel: 'warn',
      },
      { env: {} },
    ),
    serializer,
  });
  await invoker.start();
  await invoker.call({ op: 'call', target: 'bench_work.echo', args: [payload] }); // warm up
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await sleep(20); // the sampling timer must be ticking before the work starts…
  const started = performance.now();
  await invoker.call({ op: 'call', target: 'bench_work.echo', args: [payload] });
  const ms = performance.now() - started;
  await sleep(20); // …and tick once after it, or a block at the very end goes unrecorded
  histogram.disable();
  await invoker.close();
  return { roundTripMs: ms, maxDelayMs: histogram.max / 1e6, p99DelayMs: histogram.percentile(99) / 1e6 };
}

const results: Results = {};
const floats = new Float64Array(MB100 / 8).map((_, i) => i);
// Object-heavy: what costs the most to decode after base64.
const rows = records(200_000);

/** The median of three runs of each figure: one 100 MB round trip is a noisy sample. */
async function medianOf3(serializer: Serializer, payload: unknown, thresholdBytes: number) {
  const runs: Awaited<ReturnType<typeof delays>>[] = [];
  for (let i = 0; i < 3; i++) runs.push(await delays(serializer, payload, thresholdBytes));
  const median = (pick: (run: (typeof runs)[number]) => number) => runs.map(pick).sort((a, b) => a - b)[1] as number;
  return {
    roundTripMs: median((r) => r.roundTripMs),
    maxDelayMs: median((r) => r.maxDelayMs),
    p99DelayMs: median((r) => r.p99DelayMs),
  };
}

for (const [name, payload] of [
  ['json, 100 MB Float64Array', floats],
  ['json, 200k records (13 MB)', rows],
] as const) {
  results[`${name}, on the event loop`] = await medianOf3(new JsonSerializer(), payload, 0);
  results[`${name}, offloaded`] = await medianOf3(new JsonSerializer(), payload, 1024 * 1024);
}
// msgpack passes binary through and is never offloaded: for reference, its delays on the loop.
results['msgpack, 100 MB Float64Array, on the event loop'] = await medianOf3(new MsgpackSerializer(), floats, 0);
report('offload', results);

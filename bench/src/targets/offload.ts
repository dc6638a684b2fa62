// Event-loop delay while a 100 MB payload goes to Python and back, with the
// encode and decode on the main thread and offloaded to worker threads.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { StdioInvoker } from '@snakebridge/adapter-stdio';
import { JsonSerializer, resolveConfig, type Serializer } from '@snakebridge/core';
import { MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { type Results, report } from '../measure.js';

const WORK = fileURLToPath(new URL('../../python', import.meta.url));
const MB100 = 100 * 1024 * 1024;

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
  const started = performance.now();
  await invoker.call({ op: 'call', target: 'bench_work.echo', args: [payload] });
  const ms = performance.now() - started;
  histogram.disable();
  await invoker.close();
  return { roundTripMs: ms, maxDelayMs: histogram.max / 1e6, p99DelayMs: histogram.percentile(99) / 1e6 };
}

const results: Results = {};
const floats = new Float64Array(MB100 / 8).map((_, i) => i);
const text = 'x'.repeat(MB100 / 4);
for (const [name, serializer, payload] of [
  ['msgpack, 100 MB Float64Array', new MsgpackSerializer(), floats],
  ['json, 25 MB string', new JsonSerializer(), text],
] as const) {
  results[`${name}, on the event loop`] = await delays(serializer, payload, 0);
  results[`${name}, offloaded`] = await delays(serializer, payload, 1024 * 1024);
}
report('offload', results);

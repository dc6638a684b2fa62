// Many calls in flight on one worker, correlated by request id; async calls interleave.

import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, testInvoker } from './helpers.js';

const CONTRACT = 'snakebridge.testing.contract';

describe('concurrency on one worker', () => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it('correlates 1,000 concurrent calls with their own results', async () => {
    invoker = testInvoker({ pool: { maxConcurrency: 1_000 } });
    const values = Array.from({ length: 1_000 }, (_, i) => ({ i, text: `v${i}`, nested: [i, { half: i / 2 }] }));
    const results = await Promise.all(
      values.map((value, i) => invoker?.call(fn(`${CONTRACT}.${i % 3 === 0 ? 'async_echo' : 'echo'}`, [value]))),
    );
    expect(results).toEqual(values);
    expect(new Set(invoker.pool.stats().workers.map((worker) => worker.pid)).size).toBe(1);
  });

  it('takes a Promise.all of 20,000 calls under the default settings, each with its own result', async () => {
    invoker = testInvoker();
    const results = await Promise.all(
      Array.from({ length: 20_000 }, (_, i) => invoker?.call(fn('operator.add', [i, 1]))),
    );
    expect(results).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
    expect(invoker.pool.stats().queueDepth).toBe(0);
  });

  it('runs async functions concurrently on the worker’s event loop', async () => {
    invoker = testInvoker({ pool: { maxConcurrency: 100 } });
    await invoker.start();
    const started = Date.now();
    await Promise.all(Array.from({ length: 50 }, () => invoker?.call(fn(`${CONTRACT}.cancellable_sleep`, ['c', 0.5]))));
    // 50 × 0.5 s one after another would take 25 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('runs sync functions side by side on a thread pool when threads are configured', async () => {
    invoker = testInvoker({ pool: { threads: 4, maxConcurrency: 8 } });
    await invoker.start();
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => invoker?.call(fn(`${CONTRACT}.sleep`, [1]))));
    // In order, four 1 s sleeps would take 4 s.
    expect(Date.now() - started).toBeLessThan(3_500);
  });
});

// Timeouts and aborts reject at the deadline and reach Python; a call that will
// not stop gets its worker replaced.

import { CancelledError, TimeoutError, WorkerCrashedError } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, rejection, testInvoker } from './helpers.js';

describe('cancellation', () => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it('rejects a sync time.sleep(60) at its deadline and interrupts it in Python', async () => {
    invoker = testInvoker();
    await invoker.start();
    const pid = invoker.pool.stats().workers[0]?.pid;
    const started = Date.now();
    const error = await rejection(invoker.call(fn('crashy.sleep', [60]), { timeoutMs: 500 }));
    const elapsed = Date.now() - started;
    expect(TimeoutError.is(error)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(1_500);
    // Interrupted rather than killed: the same worker answers the next call.
    expect(await invoker.call(fn('crashy.pid'))).toBe(pid);
  });

  it('interrupts a pure-Python busy loop when aborted', async () => {
    invoker = testInvoker();
    await invoker.start();
    const pid = invoker.pool.stats().workers[0]?.pid;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user pressed stop')), 200);
    const error = await rejection(invoker.call(fn('crashy.spin', [60]), { signal: controller.signal }));
    expect(CancelledError.is(error)).toBe(true);
    expect(error.message).toMatch(/user pressed stop/);
    expect(await invoker.call(fn('crashy.pid'))).toBe(pid);
  });

  it('kills and replaces a worker whose call ignores the cancel, after the grace period', async () => {
    invoker = testInvoker({ timeouts: { cancelGraceMs: 500 } });
    await invoker.start();
    const pid = invoker.pool.stats().workers[0]?.pid;
    // Blocking the interrupt signal is what C code that never returns to Python looks like.
    const stubborn = invoker.call(
      {
        op: 'exec',
        target: 'import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\ntime.sleep(30)',
      },
      { timeoutMs: 300 },
    );
    const queued = invoker.call(fn('crashy.pid'));
    expect(TimeoutError.is(await rejection(stubborn))).toBe(true);
    // The call queued behind it dies with the worker, typed, and says why.
    const crash = await rejection(queued);
    expect(WorkerCrashedError.is(crash)).toBe(true);
    expect(crash.message).toMatch(/did not stop within 500 ms/);
    const next = await invoker.call(fn('crashy.pid'));
    expect(next).not.toBe(pid);
  });

  it('drops a call that was cancelled after it was sent but before the worker got to it', async () => {
    invoker = testInvoker();
    await invoker.start();
    const token = `dropped-${Date.now()}`;
    // The worker runs sync calls one at a time on its main thread: the second frame waits in its pipe.
    const blocker = invoker.call(fn('crashy.sleep', [1]));
    const controller = new AbortController();
    const dropped = invoker.call(fn('snakebridge.testing.contract.remember', [token, 'ran']), {
      signal: controller.signal,
    });
    // Both calls are with the worker (sent, not queued in the pool) before the abort.
    expect(invoker.pool.stats().workers[0]?.inFlight).toBe(2);
    expect(invoker.pool.stats().queueDepth).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    expect(CancelledError.is(await rejection(dropped))).toBe(true);
    await blocker;
    expect(await invoker.call(fn('snakebridge.testing.contract.recall', [token]))).toBeNull();
  });
});

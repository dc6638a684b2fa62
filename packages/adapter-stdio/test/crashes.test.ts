// A worker that dies fails every call in flight on it at once, with the exit
// code or signal and the tail of its stderr, and is replaced.

import { WorkerCrashedError } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, LAUNCH_MODES, rejection, testInvoker as stdioInvoker } from './helpers.js';

describe.each(LAUNCH_MODES)('crashes, workers $name', ({ forkServer }) => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());
  const testInvoker = (settings: Parameters<typeof stdioInvoker>[0] = {}) =>
    stdioInvoker({ ...settings, pool: { forkServer, ...settings.pool } });

  it('rejects every call in flight at once when the worker calls os._exit(1)', async () => {
    invoker = testInvoker({ pool: { maxConcurrency: 100 } });
    await invoker.start();
    const slow = Array.from({ length: 5 }, () =>
      rejection(invoker?.call(fn('snakebridge.testing.contract.cancellable_sleep', ['x', 30])) as Promise<unknown>),
    );
    const started = Date.now();
    const crash = await rejection(invoker.call(fn('crashy.exit_hard', [1])));
    expect(WorkerCrashedError.is(crash)).toBe(true);
    const crashed = crash as WorkerCrashedError;
    expect(crashed.exitCode).toBe(1);
    expect(crashed.stderrTail).toContain('crashy: about to exit');
    expect(crash.message).toMatch(/exited with code 1/);
    for (const error of await Promise.all(slow)) expect(WorkerCrashedError.is(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects the call in flight with the signal when the worker is SIGKILLed', async () => {
    invoker = testInvoker();
    await invoker.start();
    const pid = invoker.pool.stats().workers[0]?.pid as number;
    const call = rejection(invoker.call(fn('crashy.sleep', [30])));
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(pid, 'SIGKILL');
    const error = (await call) as WorkerCrashedError;
    expect(WorkerCrashedError.is(error)).toBe(true);
    expect(error.signal).toBe('SIGKILL');
    expect(error.message).toMatch(/killed by SIGKILL/);
  });

  it('replaces a crashed worker so that the next call succeeds', async () => {
    invoker = testInvoker();
    const before = await invoker.call(fn('crashy.pid'));
    await rejection(invoker.call(fn('crashy.kill_self', ['SIGKILL'])));
    const after = await invoker.call(fn('crashy.pid'));
    expect(after).not.toBe(before);
    expect(invoker.pool.stats().restarts).toBe(1);
  });

  it('treats a worker that closes its own frame pipe as crashed, without hanging', async () => {
    invoker = testInvoker();
    await invoker.start();
    const error = await rejection(invoker.call(fn('crashy.close_own_output'), { timeoutMs: 10_000 }));
    expect(WorkerCrashedError.is(error)).toBe(true);
  });
});

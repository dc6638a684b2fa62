import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, TimeoutError, withDeadline } from '../src/index.js';

afterEach(() => vi.useRealTimers());

describe('withDeadline', () => {
  it('rejects with TimeoutError at the deadline and tells the work to stop', async () => {
    vi.useFakeTimers();
    let abandoned: AbortSignal | undefined;
    const call = withDeadline('slow()', { timeoutMs: 100 }, (signal) => {
      abandoned = signal;
      return new Promise(() => {});
    });
    const settled = call.catch((error: Error) => error);
    await vi.advanceTimersByTimeAsync(100);
    expect(TimeoutError.is(await settled)).toBe(true);
    expect(abandoned?.aborted).toBe(true);
  });

  it('rejects with CancelledError when the signal aborts, with its reason', async () => {
    const controller = new AbortController();
    const call = withDeadline('slow()', { signal: controller.signal }, () => new Promise(() => {}));
    controller.abort(new Error('user pressed stop'));
    const error = (await call.catch((caught: Error) => caught)) as Error;
    expect(CancelledError.is(error)).toBe(true);
    expect(error.message).toMatch(/user pressed stop/);
  });

  it('settles with the work’s own error when it throws instead of rejecting, leaving no timer behind', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const call = withDeadline('bad()', { timeoutMs: 60_000, signal: controller.signal }, () => {
      throw new RangeError('thrown, not rejected');
    });
    await expect(call).rejects.toThrow('thrown, not rejected');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores the work’s late answer after giving up', async () => {
    vi.useFakeTimers();
    let answer: (value: string) => void = () => {};
    const call = withDeadline('slow()', { timeoutMs: 10 }, () => new Promise<string>((resolve) => (answer = resolve)));
    const settled = call.then(
      (value) => `resolved ${value}`,
      (error: Error) => error.name,
    );
    await vi.advanceTimersByTimeAsync(10);
    answer('late');
    expect(await settled).toMatch(/Timeout/);
  });
});

// Frames over protocol.maxFrameBytes are refused with a typed error; the connection stays usable.

import { HandleRef, ProtocolError } from '@snakebridge/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, rejection, testInvoker } from './helpers.js';

describe('frame size limit', () => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it('refuses to send a call bigger than the limit, and keeps working', async () => {
    invoker = testInvoker({ protocol: { maxFrameBytes: 64 * 1024 } });
    const error = await rejection(invoker.call(fn('snakebridge.testing.contract.echo', ['x'.repeat(100_000)])));
    expect(ProtocolError.is(error)).toBe(true);
    expect(error.message).toMatch(/maxFrameBytes/);
    expect(await invoker.call(fn('snakebridge.testing.contract.echo', ['small']))).toBe('small');
  });

  it('refuses a result bigger than the limit, and keeps working', async () => {
    invoker = testInvoker({ protocol: { maxFrameBytes: 64 * 1024 } });
    const pid = await invoker.call(fn('crashy.pid'));
    const error = await rejection(invoker.call(fn('crashy.big', [100_000])));
    expect(ProtocolError.is(error)).toBe(true);
    expect(error.message).toMatch(/maxFrameBytes/);
    expect(await invoker.call(fn('crashy.pid'))).toBe(pid);
  });

  it('carries a payload just under the limit', async () => {
    invoker = testInvoker({ protocol: { maxFrameBytes: 1024 * 1024 } });
    const text = 'y'.repeat(900_000);
    expect(await invoker.call(fn('snakebridge.testing.contract.echo', [text]))).toBe(text);
  });
});

describe('large payloads', () => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());

  it('round-trips a payload encoded and decoded in worker threads (offload)', async () => {
    invoker = testInvoker({ offload: { thresholdBytes: 1024 * 1024, threads: 1 } });
    const samples = new Float64Array(2_000_000).map((_, i) => Math.sin(i));
    const echoed = await invoker.call<Float64Array>(fn('snakebridge.testing.contract.echo', [samples]));
    expect(echoed).toBeInstanceOf(Float64Array);
    expect(echoed.length).toBe(samples.length);
    expect(
      Buffer.compare(Buffer.from(echoed.buffer, echoed.byteOffset, echoed.byteLength), Buffer.from(samples.buffer)),
    ).toBe(0);
  }, 60_000);

  it('runs a large call holding a handle on the worker that holds it', async () => {
    invoker = testInvoker({ pool: { min: 2, max: 2 }, offload: { thresholdBytes: 1024, threads: 1 } });
    await invoker.start();
    // Made at once, the two counters land on the two workers.
    const [seven, other] = await Promise.all([
      invoker.call<HandleRef>(fn('snakebridge.testing.contract.make_counter', [7])),
      invoker.call<HandleRef>(fn('snakebridge.testing.contract.make_counter', [999])),
    ]);
    expect(seven.owner).not.toBe(other.owner);
    // The handle sits past the first nodes the offloader sizes.
    const items = Array.from({ length: 20_000 }, (_, i) => ({ i, name: `item ${i}` }));
    const echoed = await invoker.call<unknown[]>(fn('snakebridge.testing.contract.echo', [[...items, seven]]));
    const counter = echoed.at(-1) as HandleRef;
    expect(counter).toBeInstanceOf(HandleRef);
    expect(counter.owner).toBe(seven.owner);
    expect(await invoker.call(fn('snakebridge.testing.contract.read_counter', [counter]))).toBe(7);
  }, 60_000);
});

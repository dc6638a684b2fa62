// Objects that cannot travel by value stay in the worker as handles, and are
// freed explicitly, by `await using`, or when their proxy is garbage-collected.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Bridge, HandleError, type HandleRef, handleOf, release, silentLogger } from '@snakebridge/core';
import { eventually } from '@snakebridge/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, rejection, testConfig, testInvoker } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const CONTRACT = 'snakebridge.testing.contract';

/**
 * How many handles the worker holds, from its pong. A call first: releases
 * travel in order with calls, pings overtake them on the control channel.
 */
async function liveHandles(invoker: StdioInvoker): Promise<number> {
  await invoker.call({ op: 'call', target: 'len', args: [[]] });
  const worker = invoker.pool.worker('w1');
  return (await worker?.ping(2_000))?.handles ?? -1;
}

describe('handles', () => {
  let invoker: StdioInvoker | undefined;
  let bridge: Bridge | undefined;
  afterEach(async () => {
    await bridge?.close();
    await invoker?.close();
    bridge = undefined;
  });

  function bridgeOver(settings = {}): Bridge {
    invoker = testInvoker(settings);
    bridge = new Bridge(invoker, testConfig(settings), silentLogger);
    return bridge;
  }

  it('is released explicitly with release()', async () => {
    const b = bridgeOver();
    const counter = await b.call(`${CONTRACT}.make_counter`, [1]);
    expect(await liveHandles(invoker as StdioInvoker)).toBe(1);
    await release(counter);
    expect(await liveHandles(invoker as StdioInvoker)).toBe(0);
    expect(HandleError.is(await rejection(counter.increment()))).toBe(true);
  });

  it('is released at the end of an `await using` block', async () => {
    const b = bridgeOver();
    {
      await using counter = await b.call(`${CONTRACT}.make_counter`, [1]);
      expect(await counter.increment(2)).toBe(3);
      expect(await liveHandles(invoker as StdioInvoker)).toBe(1);
    }
    expect(await liveHandles(invoker as StdioInvoker)).toBe(0);
  });

  it('is released when its proxy is garbage-collected', async () => {
    const b = bridgeOver();
    await (async () => {
      for (let i = 0; i < 20; i++) await b.call(`${CONTRACT}.make_counter`, [i]);
    })();
    expect(await liveHandles(invoker as StdioInvoker)).toBe(20);
    for (let attempt = 0; attempt < 50 && (await liveHandles(invoker as StdioInvoker)) > 0; attempt++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await liveHandles(invoker as StdioInvoker)).toBe(0);
  });

  it('keeps a session from holding more than handles.maxPerSession', async () => {
    const b = bridgeOver({ handles: { maxPerSession: 3 } });
    const session = await b.session();
    for (let i = 0; i < 3; i++) await session.call(`${CONTRACT}.make_counter`);
    const error = await rejection(session.call(`${CONTRACT}.make_counter`));
    expect(HandleError.is(error)).toBe(true);
    expect(error.message).toMatch(/maxPerSession/);
    await session.close();
    expect(await liveHandles(invoker as StdioInvoker)).toBe(0);
  });

  it('frees a forgotten handle after handles.ttlMs', async () => {
    invoker = testInvoker({ handles: { ttlMs: 300 } });
    const ref = await invoker.call<HandleRef>(fn(`${CONTRACT}.make_counter`));
    expect(await liveHandles(invoker)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await liveHandles(invoker)).toBe(0);
    expect(HandleError.is(await rejection(invoker.call({ op: 'call', target: 'increment', handle: ref })))).toBe(true);
  });

  it('routes calls on a handle to the worker that holds it, across a pool', async () => {
    const b = bridgeOver({ pool: { min: 2, max: 2 } });
    await b.start();
    const counters = await Promise.all(Array.from({ length: 8 }, (_, i) => b.call(`${CONTRACT}.make_counter`, [i])));
    const owners = new Set(counters.map((c) => handleOf(c)?.owner));
    expect(owners.size).toBe(2);
    expect(await Promise.all(counters.map((c) => c.increment(100)))).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
  });

  it('refuses to mix objects from two workers in one call, saying to use a session', async () => {
    const b = bridgeOver({ pool: { min: 2, max: 2 } });
    await b.start();
    const counters = await Promise.all(Array.from({ length: 8 }, () => b.call(`${CONTRACT}.make_counter`)));
    const [first] = counters;
    const other = counters.find((c) => handleOf(c)?.owner !== handleOf(first)?.owner);
    const error = await rejection(b.call(`${CONTRACT}.echo`, [[first, other]]));
    expect(HandleError.is(error)).toBe(true);
    expect(error.message).toMatch(/session/);
  });

  it('counts no handle of a closed session as live, and a late release of one changes nothing', async () => {
    const b = bridgeOver();
    const kept = await b.call(`${CONTRACT}.make_counter`, [1]);
    const session = await b.session();
    const inSession = await Promise.all([1, 2, 3].map((i) => session.call(`${CONTRACT}.make_counter`, [i])));
    await release(inSession[0]);
    expect(invoker?.stats().liveHandles).toBe(3);
    await session.close();
    expect(invoker?.stats().liveHandles).toBe(1);
    expect(await liveHandles(invoker as StdioInvoker)).toBe(1);
    await release(inSession[1]);
    expect(invoker?.stats().liveHandles).toBe(1);
    await release(kept);
    expect(invoker?.stats().liveHandles).toBe(0);
  });

  it('reports each worker’s live handles in pool.stats(), from its health checks', async () => {
    const b = bridgeOver({ pool: { pingIntervalMs: 20 } });
    const counters = await Promise.all([1, 2].map((i) => b.call(`${CONTRACT}.make_counter`, [i])));
    const pool = (invoker as StdioInvoker).pool;
    await eventually(async () => pool.stats().workers[0]?.handles === 2, 5_000, 'two handles in the stats');
    await release(counters[0]);
    await eventually(async () => pool.stats().workers[0]?.handles === 1, 5_000, 'one handle in the stats');
  });

  it('gives back the same proxy when Python returns an object it already holds, and leaks nothing', async () => {
    const b = bridgeOver();
    const counter = await b.call(`${CONTRACT}.make_counter`, [1]);
    const same = await counter.bump(2); // returns self, as scikit-learn's fit() does
    expect(same).toBe(counter);
    const both = await b.call(`${CONTRACT}.echo`, [[counter, counter]]);
    expect(both).toEqual([counter, counter]);
    await eventually(async () => invoker?.stats().liveHandles === 1, 5_000, 'one live handle on the host');
    expect(await liveHandles(invoker as StdioInvoker)).toBe(1);
    await release(counter);
    expect(await liveHandles(invoker as StdioInvoker)).toBe(0);
  });
});

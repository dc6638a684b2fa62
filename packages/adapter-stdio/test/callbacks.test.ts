// Python calling back into the host: functions passed in a call's arguments
// run in Node while the call runs, with real Python workers.

import {
  Bridge,
  HandleRef,
  kwargs,
  PythonError,
  SerializationError,
  type SnakeBridgeSettings,
  silentLogger,
  TimeoutError,
} from '@snakebridge/core';
import { createMsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { StdioInvoker } from '../src/index.js';
import { fn, rejection, testConfig } from './helpers.js';

describe.each(['json', 'msgpack'] as const)('host callbacks over %s', (serializerId) => {
  let invoker: StdioInvoker;
  afterEach(async () => {
    await invoker?.close();
  });

  function open(settings: SnakeBridgeSettings = {}): StdioInvoker {
    const serializer = serializerId === 'msgpack' ? createMsgpackSerializer() : undefined;
    invoker = new StdioInvoker({ config: testConfig(settings), serializer, logger: silentLogger });
    return invoker;
  }

  it('runs a function Python calls, once per item, and Python uses what it returns', async () => {
    open();
    const seen: unknown[] = [];
    const double = (x: number) => {
      seen.push(x);
      return x * 2;
    };
    expect(await invoker.call(fn('callbacks.map_with', [double, [1, 2, 3]]))).toEqual([2, 4, 6]);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('awaits a function that returns a promise', async () => {
    open();
    const slowUpper = async (s: string) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return s.toUpperCase();
    };
    expect(await invoker.call(fn('callbacks.map_with', [slowUpper, ['a', 'b']]))).toEqual(['A', 'B']);
  });

  it('serves callbacks from an async Python function without blocking its event loop', async () => {
    open();
    const both = await Promise.all([
      invoker.call(fn('callbacks.amap_with', [(x: number) => x + 1, [1, 2]])),
      invoker.call(fn('callbacks.amap_with', [(x: number) => x - 1, [1, 2]])),
    ]);
    expect(both).toEqual([
      [2, 3],
      [0, 1],
    ]);
  });

  it('serves callbacks from another Python thread and from a thread-pool worker', async () => {
    open({ pool: { threads: 2 } });
    expect(await invoker.call(fn('callbacks.map_in_thread', [(x: number) => x * 10, [1, 2]]))).toEqual([10, 20]);
    expect(await invoker.call(fn('callbacks.map_with', [(x: number) => -x, [4]]))).toEqual([-4]);
  });

  it('raises HostCallbackError in Python when the function throws, with its name and message', async () => {
    open();
    const failing = () => {
      throw new TypeError('no such user');
    };
    expect(await invoker.call(fn('callbacks.describe_failure', [failing]))).toEqual({
      type: 'HostCallbackError',
      name: 'TypeError',
      message: 'no such user',
    });
    const error = await rejection(invoker.call(fn('callbacks.call_once', [failing])));
    expect(PythonError.is(error) && error.pythonType).toBe('HostCallbackError');
    expect(error.message).toContain('no such user');
  });

  it('answers Python even when the function throws a value that cannot be described', async () => {
    open();
    const undescribable = () => {
      throw {
        toString() {
          throw new Error('no');
        },
      };
    };
    expect(await invoker.call(fn('callbacks.describe_failure', [undescribable]))).toEqual({
      type: 'HostCallbackError',
      name: 'Error',
      message: 'the callback threw a value that cannot be described',
    });
  });

  it('refuses a callback called after its call has ended', async () => {
    open();
    await invoker.call(fn('callbacks.keep', [() => 'too late']));
    const error = await rejection(invoker.call(fn('callbacks.call_kept')));
    expect(PythonError.is(error) && error.pythonType).toBe('HostCallbackError');
    expect(error.message).toMatch(/has ended/);
  });

  it('frees the handles Python made for the arguments of a callback that has expired', async () => {
    open();
    await invoker.call(fn('callbacks.keep', [() => 'too late']));
    for (let i = 0; i < 3; i++) {
      const error = await rejection(invoker.call(fn('callbacks.call_kept_with_object')));
      expect(error.message).toMatch(/has ended/);
    }
    await invoker.call(fn('len', [[]])); // releases travel in order with calls; pings overtake them
    expect((await invoker.pool.worker('w1')?.ping(2_000))?.handles).toBe(0);
  });

  it('answers a callback still running when its call ends, so no Python thread waits on it forever', async () => {
    open();
    const never = () => new Promise(() => {});
    await invoker.call(fn('callbacks.call_from_thread_and_return', [never]));
    let outcome: unknown;
    for (let i = 0; i < 100 && outcome == null; i++) {
      outcome = await invoker.call(fn('callbacks.thread_outcome'));
      if (outcome == null) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(outcome).toMatch(/^HostCallbackError: .*has ended/);
  });

  it('refuses a proxy of a Python function, which would make the worker wait on itself', async () => {
    const bridge = new Bridge(open(), testConfig(), silentLogger);
    const builtins = bridge.module('builtins');
    const error = await rejection(builtins.sorted(['bb', 'a'], kwargs({ key: builtins.len })));
    expect(SerializationError.is(error), String(error)).toBe(true);
    expect(error.message).toMatch(/<py builtins\.len> is a Python attribute seen through a proxy/);
  });

  it('passes a Python object the function receives as a handle of the worker holding it', async () => {
    open();
    let received: unknown;
    await invoker.call(
      fn('callbacks.hand_object', [
        (model: unknown) => {
          received = model;
          return null;
        },
      ]),
    );
    expect(received).toBeInstanceOf(HandleRef);
    expect((received as HandleRef).type).toBe('callbacks.Model');
    expect((received as HandleRef).owner).toBe('w1');
  });

  it('answers a function that returns what cannot be sent with an error in Python, not a hang', async () => {
    open();
    const error = await rejection(invoker.call(fn('callbacks.call_once', [() => Symbol('nope')])));
    expect(PythonError.is(error) && error.pythonType).toBe('HostCallbackError');
    expect(error.message).toMatch(/symbol/);
  });

  it('calls a stream callback between items', async () => {
    open();
    const progress: number[] = [];
    const items: number[] = [];
    for await (const item of invoker.stream<number>(
      fn('callbacks.items_with_progress', [3, (i: number) => void progress.push(i)]),
    )) {
      items.push(item);
    }
    expect(items).toEqual([0, 1, 2]);
    expect(progress).toEqual([0, 1, 2]);
  });

  it('times the call out while Python waits for a function that never answers, and the worker serves on', async () => {
    open();
    const never = () => new Promise(() => {});
    const error = await rejection(invoker.call(fn('callbacks.call_once', [never]), { timeoutMs: 300 }));
    expect(TimeoutError.is(error)).toBe(true);
    expect(await invoker.call(fn('callbacks.map_with', [(x: number) => x, [7]]))).toEqual([7]);
    expect(invoker.pool.stats().workers[0]?.restarts ?? 0).toBe(0);
  });
});

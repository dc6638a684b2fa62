// The behaviour of host callbacks (Python calling a JavaScript function passed
// in a call's arguments), the same over every invoker that carries them: stdio
// and gRPC run it against real Python (python/snakebridge/testing/callbacks.py).

import assert from 'node:assert/strict';
import { PythonError, TimeoutError } from '../errors/index.js';
import { HandleRef } from '../handles/handle-ref.js';
import type { Call, Invoker } from '../invoker/invoker.js';
import { eventually, type TestRunner } from './runner.js';

/** The Python module the callback contract calls; shipped with the snakebridge Python package. */
export const CALLBACK_MODULE = 'snakebridge.testing.callbacks';

export interface CallbackContractOptions {
  /** Makes a fresh invoker; `threads` is `pool.threads` (sync calls on a thread pool in Python). */
  readonly open: (settings: { readonly threads?: number }) => Invoker | Promise<Invoker>;
  /**
   * Live handles in the Python process that ran the calls (from a health
   * reading), to show that expired callbacks leak nothing. Without it, that
   * test checks only that Python was answered.
   */
  readonly pythonHandles?: ((invoker: Invoker) => Promise<number | undefined>) | undefined;
  /** Per-test timeout. @default 20000 */
  readonly testTimeoutMs?: number;
}

function fn(name: string, args: readonly unknown[] = []): Call {
  return { op: 'call', target: `${CALLBACK_MODULE}.${name}`, args };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected the call to reject, but it resolved');
}

/**
 * Registers the callback contract tests with the given runner.
 *
 * @example
 * describeCallbackContract(vitest, 'stdio', { open: ({ threads }) => new StdioInvoker({ ... }) });
 */
export function describeCallbackContract(runner: TestRunner, name: string, options: CallbackContractOptions): void {
  const { describe, it, afterAll } = runner;
  const timeout = options.testTimeoutMs ?? 20_000;
  const opened: Invoker[] = [];
  let shared: Invoker | undefined;
  const invoker = async (): Promise<Invoker> => {
    shared ??= await options.open({});
    return shared;
  };
  const fresh = async (settings: { readonly threads?: number }): Promise<Invoker> => {
    const made = await options.open(settings);
    opened.push(made);
    return made;
  };

  describe(`host callbacks: ${name}`, () => {
    afterAll(async () => {
      await Promise.all([shared, ...opened].map((made) => made?.close()));
    });

    it(
      'runs a function Python calls, once per item, and Python uses what it returns',
      async () => {
        const seen: unknown[] = [];
        const double = (x: number) => {
          seen.push(x);
          return x * 2;
        };
        assert.deepEqual(await (await invoker()).call(fn('map_with', [double, [1, 2, 3]])), [2, 4, 6]);
        assert.deepEqual(seen, [1, 2, 3]);
      },
      timeout,
    );

    it(
      'awaits a function that returns a promise',
      async () => {
        const slowUpper = async (s: string) => {
          await new Promise((resolve) => setImmediate(resolve));
          return s.toUpperCase();
        };
        assert.deepEqual(await (await invoker()).call(fn('map_with', [slowUpper, ['a', 'b']])), ['A', 'B']);
      },
      timeout,
    );

    it(
      'serves callbacks from an async Python function without blocking its event loop',
      async () => {
        const calls = await invoker();
        const both = await Promise.all([
          calls.call(fn('amap_with', [(x: number) => x + 1, [1, 2]])),
          calls.call(fn('amap_with', [(x: number) => x - 1, [1, 2]])),
        ]);
        assert.deepEqual(both, [
          [2, 3],
          [0, 1],
        ]);
      },
      timeout,
    );

    it(
      'serves callbacks from another Python thread and from a thread-pool worker',
      async () => {
        const threaded = await fresh({ threads: 2 });
        assert.deepEqual(await threaded.call(fn('map_in_thread', [(x: number) => x * 10, [1, 2]])), [10, 20]);
        assert.deepEqual(await threaded.call(fn('map_with', [(x: number) => -x, [4]])), [-4]);
      },
      timeout,
    );

    it(
      'raises HostCallbackError in Python when the function throws, with its name and message',
      async () => {
        const calls = await invoker();
        const failing = () => {
          throw new TypeError('no such user');
        };
        assert.deepEqual(await calls.call(fn('describe_failure', [failing])), {
          type: 'HostCallbackError',
          name: 'TypeError',
          message: 'no such user',
        });
        const error = await rejection(calls.call(fn('call_once', [failing])));
        assert.equal(PythonError.is(error) && error.pythonType, 'HostCallbackError');
        assert.match(error.message, /no such user/);
      },
      timeout,
    );

    it(
      'answers Python even when the function throws a value that cannot be described',
      async () => {
        const undescribable = () => {
          throw {
            toString() {
              throw new Error('no');
            },
          };
        };
        assert.deepEqual(await (await invoker()).call(fn('describe_failure', [undescribable])), {
          type: 'HostCallbackError',
          name: 'Error',
          message: 'the callback threw a value that cannot be described',
        });
      },
      timeout,
    );

    it(
      'refuses a callback called after its call has ended',
      async () => {
        const calls = await invoker();
        await calls.call(fn('keep', [() => 'too late']));
        const error = await rejection(calls.call(fn('call_kept')));
        assert.equal(PythonError.is(error) && error.pythonType, 'HostCallbackError');
        assert.match(error.message, /has ended/);
      },
      timeout,
    );

    it(
      'frees the handles Python made for the arguments of a callback that has expired',
      async () => {
        const calls = await fresh({});
        await calls.call(fn('keep', [() => 'too late']));
        for (let i = 0; i < 3; i++) {
          const error = await rejection(calls.call(fn('call_kept_with_object')));
          assert.match(error.message, /has ended/);
        }
        if (options.pythonHandles === undefined) return;
        await eventually(async () => (await options.pythonHandles?.(calls)) === 0, 5_000, 'no live handles');
      },
      timeout,
    );

    it(
      'answers a callback still running when its call ends, so no Python thread waits on it forever',
      async () => {
        const calls = await invoker();
        const never = () => new Promise(() => {});
        await calls.call(fn('call_from_thread_and_return', [never]));
        let outcome: unknown;
        await eventually(
          async () => {
            outcome = await calls.call(fn('thread_outcome'));
            return outcome != null;
          },
          5_000,
          'the waiting thread to be answered',
        );
        assert.match(String(outcome), /^HostCallbackError: .*has ended/);
      },
      timeout,
    );

    it(
      'passes a Python object the function receives as a handle of the worker holding it',
      async () => {
        const calls = await invoker();
        let received: unknown;
        const result = calls.call(
          fn('hand_object', [
            (model: unknown) => {
              received = model;
              return null;
            },
          ]),
        );
        await result;
        assert.ok(received instanceof HandleRef, `got ${String(received)}`);
        assert.equal(received.type, `${CALLBACK_MODULE}.Model`);
        assert.ok(received.owner !== undefined);
      },
      timeout,
    );

    it(
      'answers a function that returns what cannot be sent with an error in Python, not a hang',
      async () => {
        const error = await rejection((await invoker()).call(fn('call_once', [() => Symbol('nope')])));
        assert.equal(PythonError.is(error) && error.pythonType, 'HostCallbackError');
        assert.match(error.message, /symbol/);
      },
      timeout,
    );

    it(
      'calls a stream callback between items',
      async () => {
        const progress: number[] = [];
        const items: number[] = [];
        const stream = (await invoker()).stream<number>(
          fn('items_with_progress', [3, (i: number) => void progress.push(i)]),
        );
        for await (const item of stream) items.push(item);
        assert.deepEqual(items, [0, 1, 2]);
        assert.deepEqual(progress, [0, 1, 2]);
      },
      timeout,
    );

    it(
      'times the call out while Python waits for a function that never answers, and serves on',
      async () => {
        const calls = await invoker();
        const never = () => new Promise(() => {});
        const error = await rejection(calls.call(fn('call_once', [never]), { timeoutMs: 300 }));
        assert.ok(TimeoutError.is(error), String(error));
        assert.deepEqual(await calls.call(fn('map_with', [(x: number) => x, [7]])), [7]);
      },
      timeout,
    );
  });
}

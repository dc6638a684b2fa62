// The behaviour every Invoker must show. The stdio and gRPC adapters run it
// against real Python workers; the mock runs it against its programmed twin of
// the same fixture module (python/snakebridge/testing/contract.py).

import assert from 'node:assert/strict';
import {
  CancelledError,
  ClosedError,
  HandleError,
  PythonError,
  SnakeBridgeError,
  TimeoutError,
} from '../errors/index.js';
import { HandleRef } from '../handles/handle-ref.js';
import type { Call, Invoker } from '../invoker/invoker.js';
import { eventually, type TestRunner } from './runner.js';

/** The Python module the contract calls; shipped with the snakebridge Python package. */
export const CONTRACT_MODULE = 'snakebridge.testing.contract';

export interface InvokerContractOptions {
  /** Makes a fresh, unstarted invoker: each test gets one of its own, and closes it. */
  readonly create: () => Invoker | Promise<Invoker>;
  /** Per-test timeout; real workers need more than the mock. @default 20000 */
  readonly testTimeoutMs?: number;
  /**
   * How late a timeout or abort may reject past its deadline, in ms, on a
   * loaded machine. It bounds "at the deadline, never later". @default 1000
   */
  readonly deadlineSlackMs?: number;
}

let tokenCounter = 0;
/** A value no other test run uses, to name Python-side state. */
function token(): string {
  tokenCounter += 1;
  return `t${process.pid}-${Date.now()}-${tokenCounter}`;
}

function fn(name: string, args: readonly unknown[] = [], kwargs?: Record<string, unknown>): Call {
  return { op: 'call', target: `${CONTRACT_MODULE}.${name}`, args, kwargs };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to reject, but it resolved');
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/**
 * Reads item 0 of `slow_count`, which Python yields at once before it sleeps:
 * an invoker must deliver it then, not hold it until the generator's next item.
 */
async function firstItemBeforeItBlocks(iterator: AsyncIterator<number>): Promise<void> {
  const first = await iterator.next().catch((error: unknown) => error);
  const got = first instanceof Error ? `${first.name}: ${first.message}` : JSON.stringify(first);
  assert.deepEqual(first, { done: false, value: 0 }, `item 0 was not delivered while the generator slept; got ${got}`);
}

/**
 * Registers the Invoker contract tests with the given runner.
 *
 * @example
 * import * as vitest from 'vitest';
 * describeInvokerContract(vitest, 'stdio', { create: () => createStdioInvoker({ ... }) });
 */
export function describeInvokerContract(runner: TestRunner, name: string, options: InvokerContractOptions): void {
  const { describe, it } = runner;
  const timeout = options.testTimeoutMs ?? 20_000;
  const slack = options.deadlineSlackMs ?? 1_000;
  /** Runs a test on an invoker of its own, closed after it: no test sees another's calls, handles or counts. */
  const fresh = (body: (invoker: Invoker) => Promise<void>) => async (): Promise<void> => {
    const invoker = await options.create();
    try {
      await invoker.start();
      await body(invoker);
    } finally {
      await invoker.close();
    }
  };

  describe(`Invoker contract: ${name}`, () => {
    describe('calls', () => {
      it(
        'calls a function with positional arguments and resolves with its result',
        fresh(async (invoker) => {
          assert.equal(await invoker.call(fn('add', [2, 3])), 5);
        }),
        timeout,
      );

      it(
        'passes keyword arguments by name',
        fresh(async (invoker) => {
          const result = await invoker.call(fn('greet', ['Ada'], { greeting: 'Hi', punctuation: '?' }));
          assert.equal(result, 'Hi, Ada?');
        }),
        timeout,
      );

      it(
        'returns nested plain data unchanged',
        fresh(async (invoker) => {
          const value = { list: [1, 2.5, 'três', null, true], nested: { empty: {}, none: [] }, unicode: 'snake 🐍' };
          assert.deepEqual(await invoker.call(fn('echo', [value])), value);
        }),
        timeout,
      );

      it(
        'sends arguments encoded ahead (encodeArguments, where it has it) as they were when encoded',
        fresh(async (invoker) => {
          if (invoker.encodeArguments === undefined) return;
          const list = [1, 2];
          const encoded = invoker.encodeArguments(fn('echo', [list]));
          list.push(3);
          // The call's own arguments are not read: the encoded ones go instead.
          assert.deepEqual(await invoker.call({ ...fn('echo', ['not these']), encoded }), [1, 2]);
          const byName = { n: 1 };
          const encodedByName = invoker.encodeArguments(fn('echo', [], { value: byName }));
          byName.n = 2;
          assert.deepEqual(await invoker.call({ ...fn('echo'), encoded: encodedByName }), { n: 1 });
        }),
        timeout,
      );

      it(
        'awaits async Python functions',
        fresh(async (invoker) => {
          assert.deepEqual(await invoker.call(fn('async_echo', [[1, 'two']])), [1, 'two']);
        }),
        timeout,
      );

      it(
        'correlates many concurrent calls with their own results',
        fresh(async (invoker) => {
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) => invoker.call(fn(i % 2 === 0 ? 'echo' : 'async_echo', [i]))),
          );
          assert.deepEqual(
            results,
            Array.from({ length: 200 }, (_, i) => i),
          );
        }),
        timeout,
      );

      it(
        'evaluates expressions with locals and executes statements',
        fresh(async (invoker) => {
          assert.equal(await invoker.call({ op: 'eval', target: 'x * 2 + 1', kwargs: { x: 20 } }), 41);
          assert.equal(await invoker.call({ op: 'exec', target: 'y = 1' }), null);
        }),
        timeout,
      );

      it(
        'reads a module attribute',
        fresh(async (invoker) => {
          assert.equal(await invoker.call({ op: 'getattr', target: `${CONTRACT_MODULE}.ANSWER` }), 42);
        }),
        timeout,
      );
    });

    describe('errors', () => {
      it(
        'rejects with a PythonError carrying type, message, code and traceback',
        fresh(async (invoker) => {
          const error = await rejection(invoker.call(fn('fail', ['ValueError', 'bad input'])));
          assert.ok(PythonError.is(error), `expected a PythonError, got ${String(error)}`);
          assert.equal(error.pythonType, 'ValueError');
          assert.equal(error.pythonMessage, 'bad input');
          assert.equal(error.code, 'PYTHON_VALUE_ERROR');
          assert.ok(error.traceback.length > 0, 'the traceback is empty');
          assert.ok(error.isInstance('Exception'));
        }),
        timeout,
      );

      it(
        'carries the __cause__ chain',
        fresh(async (invoker) => {
          const error = await rejection(invoker.call(fn('fail_with_cause')));
          assert.ok(PythonError.is(error));
          assert.equal(error.pythonType, 'RuntimeError');
          assert.ok(error.cause !== undefined, 'no cause');
          assert.equal(error.cause.pythonType, 'KeyError');
          assert.equal(error.cause.code, 'PYTHON_KEY_ERROR');
        }),
        timeout,
      );

      it(
        'rejects a missing function with PYTHON_ATTRIBUTE_ERROR and a missing module with PYTHON_IMPORT_ERROR',
        fresh(async (invoker) => {
          const missingFunction = await rejection(invoker.call(fn('no_such_function')));
          assert.ok(PythonError.is(missingFunction, 'PYTHON_ATTRIBUTE_ERROR'), String(missingFunction));
          const missingModule = await rejection(invoker.call({ op: 'call', target: 'no_such_module_xyz.f' }));
          assert.ok(PythonError.is(missingModule, 'PYTHON_IMPORT_ERROR'), String(missingModule));
        }),
        timeout,
      );

      it(
        'keeps serving calls after an exception',
        fresh(async (invoker) => {
          await rejection(invoker.call(fn('fail')));
          assert.equal(await invoker.call(fn('add', [1, 1])), 2);
        }),
        timeout,
      );
    });

    describe('timeouts and cancellation', () => {
      it(
        'rejects with TimeoutError at the deadline, not when Python finishes',
        fresh(async (invoker) => {
          const started = Date.now();
          const error = await rejection(invoker.call(fn('sleep', [30]), { timeoutMs: 300 }));
          const elapsed = Date.now() - started;
          assert.ok(TimeoutError.is(error), `expected TimeoutError, got ${String(error)}`);
          assert.ok(elapsed >= 290, `rejected early, after ${elapsed} ms`);
          assert.ok(elapsed < 300 + slack, `rejected ${elapsed - 300} ms after the deadline`);
        }),
        timeout,
      );

      it(
        'keeps serving calls after a timeout',
        fresh(async (invoker) => {
          await rejection(invoker.call(fn('sleep', [30]), { timeoutMs: 100 }));
          assert.equal(await invoker.call(fn('add', [2, 2])), 4);
        }),
        timeout,
      );

      it(
        'rejects with CancelledError at once when the signal aborts',
        fresh(async (invoker) => {
          const controller = new AbortController();
          const call = invoker.call(fn('sleep', [30]), { signal: controller.signal });
          setTimeout(() => controller.abort(), 100);
          const started = Date.now();
          const error = await rejection(call);
          assert.ok(CancelledError.is(error), `expected CancelledError, got ${String(error)}`);
          assert.ok(Date.now() - started < 100 + slack, 'the abort was not prompt');
        }),
        timeout,
      );

      it(
        'rejects without calling when the signal is already aborted',
        fresh(async (invoker) => {
          const tag = token();
          const error = await rejection(invoker.call(fn('remember', [tag, true]), { signal: AbortSignal.abort() }));
          assert.ok(CancelledError.is(error));
          assert.equal(await invoker.call(fn('recall', [tag])), null);
        }),
        timeout,
      );

      it(
        'cancels an async call inside Python',
        fresh(async (invoker) => {
          const tag = token();
          const controller = new AbortController();
          const call = invoker.call(fn('cancellable_sleep', [tag, 30]), { signal: controller.signal });
          await eventually(async () => (await invoker.call(fn('recall', [`${tag}:started`]))) === true, 5_000, 'start');
          controller.abort();
          assert.ok(CancelledError.is(await rejection(call)));
          await eventually(
            async () => (await invoker.call(fn('recall', [tag]))) === 'cancelled',
            5_000,
            'cancellation in Python',
          );
        }),
        timeout,
      );
    });

    describe('streams', () => {
      it(
        'yields a generator’s items in order',
        fresh(async (invoker) => {
          assert.deepEqual(await collect(invoker.stream(fn('count', [5]))), [0, 1, 2, 3, 4]);
        }),
        timeout,
      );

      it(
        'yields an async generator’s items in order',
        fresh(async (invoker) => {
          assert.deepEqual(await collect(invoker.stream(fn('async_count', [4]))), [0, 1, 2, 3]);
        }),
        timeout,
      );

      it(
        'delivers the items produced before an exception, then the exception',
        fresh(async (invoker) => {
          const items: unknown[] = [];
          const error = await rejection(
            (async () => {
              for await (const item of invoker.stream(fn('count_then_fail', [3]))) items.push(item);
            })(),
          );
          assert.deepEqual(items, [0, 1, 2]);
          assert.ok(PythonError.is(error, 'PYTHON_RUNTIME_ERROR'), String(error));
        }),
        timeout,
      );

      it(
        'closes the generator in Python when the consumer stops early',
        fresh(async (invoker) => {
          const tag = token();
          const seen: unknown[] = [];
          for await (const item of invoker.stream(fn('endless', [tag]), { window: 4 })) {
            seen.push(item);
            if (seen.length === 3) break;
          }
          assert.deepEqual(seen, [0, 1, 2]);
          await eventually(
            async () => (await invoker.call(fn('recall', [tag]))) === 'closed',
            5_000,
            'generator close',
          );
        }),
        timeout,
      );

      it(
        'rejects a stream with TimeoutError at its deadline while the generator blocks between items',
        fresh(async (invoker) => {
          // timeoutMs bounds the whole stream: it passes while Python sleeps before item 1.
          const started = Date.now();
          const iterator = invoker.stream<number>(fn('slow_count', [3, 30]), { timeoutMs: 500 });
          await firstItemBeforeItBlocks(iterator);
          const error = await rejection(iterator.next());
          const elapsed = Date.now() - started;
          assert.ok(TimeoutError.is(error), `expected TimeoutError, got ${String(error)}`);
          assert.ok(elapsed >= 490, `rejected early, after ${elapsed} ms`);
          assert.ok(elapsed < 500 + slack, `rejected ${elapsed - 500} ms after the deadline`);
          // It settles once: the stream is over, neither failing again nor waiting for Python.
          assert.deepEqual(await iterator.next(), { done: true, value: undefined });
          assert.equal(await invoker.call(fn('add', [2, 2])), 4);
        }),
        timeout,
      );

      it(
        'rejects a stream with CancelledError at once when the signal aborts while the generator blocks',
        fresh(async (invoker) => {
          const controller = new AbortController();
          const started = Date.now();
          setTimeout(() => controller.abort(), 500);
          const iterator = invoker.stream<number>(fn('slow_count', [3, 30]), { signal: controller.signal });
          await firstItemBeforeItBlocks(iterator);
          const error = await rejection(iterator.next());
          const elapsed = Date.now() - started;
          assert.ok(CancelledError.is(error), `expected CancelledError, got ${String(error)}`);
          assert.ok(elapsed < 500 + slack, `rejected ${elapsed - 500} ms after the abort`);
          assert.deepEqual(await iterator.next(), { done: true, value: undefined });
          assert.equal(await invoker.call(fn('add', [3, 3])), 6);
        }),
        timeout,
      );

      it(
        'does not run the generator more than the window ahead of the consumer',
        fresh(async (invoker) => {
          const tag = token();
          const iterator = invoker.stream<number>(fn('endless', [tag]), { window: 4 });
          const first = await iterator.next();
          assert.equal(first.value, 0);
          await new Promise((resolve) => setTimeout(resolve, 300));
          const produced = (await invoker.call(fn('recall', [`${tag}:produced`]))) as number;
          assert.ok(produced <= 1 + 4 + 1, `the generator ran ${produced} items ahead with a window of 4`);
          await iterator.return?.();
        }),
        timeout,
      );
    });

    describe('handles', () => {
      it(
        'returns an object it cannot carry by value as a handle, whose methods and attributes work',
        fresh(async (invoker) => {
          const counter = await invoker.call(fn('make_counter', [5]));
          assert.ok(counter instanceof HandleRef, `expected a HandleRef, got ${String(counter)}`);
          assert.match(counter.type, /Counter/);
          assert.equal(await invoker.call({ op: 'call', target: 'increment', handle: counter, args: [2] }), 7);
          assert.equal(await invoker.call({ op: 'getattr', target: 'value', handle: counter }), 7);
          await invoker.call({ op: 'setattr', target: 'value', handle: counter, args: [100] });
          assert.equal(await invoker.call({ op: 'getattr', target: 'value', handle: counter }), 100);
          await invoker.release([counter]);
        }),
        timeout,
      );

      it(
        'passes a handle back to Python as the object itself',
        fresh(async (invoker) => {
          const counter = await invoker.call<HandleRef>(fn('make_counter', [3]));
          assert.equal(await invoker.call(fn('read_counter', [counter])), 3);
          await invoker.release([counter]);
        }),
        timeout,
      );

      it(
        'rejects calls on a released handle with HandleError',
        fresh(async (invoker) => {
          const counter = await invoker.call<HandleRef>(fn('make_counter', [1]));
          await invoker.release([counter]);
          const error = await rejection(invoker.call({ op: 'call', target: 'increment', handle: counter }));
          assert.ok(HandleError.is(error), `expected HandleError, got ${String(error)}`);
        }),
        timeout,
      );

      it(
        'iterates a handle to a Python iterable',
        fresh(async (invoker) => {
          const range = await invoker.call<HandleRef>({ op: 'eval', target: 'iter(range(3))' });
          assert.deepEqual(await collect(invoker.stream({ op: 'iter', target: '', handle: range })), [0, 1, 2]);
        }),
        timeout,
      );
    });

    describe('sessions', () => {
      it(
        'keeps Python state between the calls of a session',
        fresh(async (invoker) => {
          const session = await invoker.openSession();
          const tag = token();
          await invoker.call(fn('remember', [tag, 'kept']), { session });
          assert.equal(await invoker.call(fn('recall', [tag]), { session }), 'kept');
          await invoker.closeSession(session);
        }),
        timeout,
      );
    });

    describe('lifecycle', () => {
      it(
        'lets calls in flight finish on close, then rejects new calls with ClosedError',
        async () => {
          const own = await options.create();
          await own.start();
          const inFlight = own.call(fn('slow_echo', ['done', 0.2]));
          await new Promise((resolve) => setTimeout(resolve, 50));
          await own.close();
          assert.equal(await inFlight, 'done');
          const error = await rejection(own.call(fn('add', [1, 2])));
          assert.ok(ClosedError.is(error), `expected ClosedError, got ${String(error)}`);
          await own.close();
        },
        timeout,
      );

      it(
        'counts calls in its stats',
        fresh(async (invoker) => {
          await invoker.call(fn('add', [1, 2]));
          await rejection(invoker.call(fn('fail')));
          assert.ok(SnakeBridgeError.is(await rejection(invoker.call(fn('fail')))));
          const stats = invoker.stats();
          assert.deepEqual(
            { started: stats.callsStarted, succeeded: stats.callsSucceeded, failed: stats.callsFailed },
            { started: 3, succeeded: 1, failed: 2 },
          );
          assert.equal(stats.inFlight, 0);
        }),
        timeout,
      );
    });
  });
}

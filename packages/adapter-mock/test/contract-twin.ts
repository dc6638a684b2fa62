// A JavaScript twin of python/snakebridge/testing/contract.py, programmed into
// the mock so that the invoker contract suite runs against it as it does
// against real workers.

import { CONTRACT_MODULE } from '@snakebridge/core/testing';
import { MockInvoker, pyObject, pythonError } from '../src/index.js';

const state = new Map<string, unknown>();

class Counter {
  constructor(public value: number) {}
  increment(by = 1): number {
    this.value += by;
    return this.value;
  }
}

function sleep(seconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** A mock programmed with the contract module's functions. */
export function contractMock(): MockInvoker {
  const mock = new MockInvoker();
  const on = (name: string) => mock.on(`${CONTRACT_MODULE}.${name}`);
  on('echo').calls(({ args }) => args[0]);
  on('async_echo').calls(async ({ args }) => args[0]);
  on('add').calls(({ args: [a, b] }) => (a as number) + (b as number));
  on('greet').calls(({ args: [name], kwargs }) => `${kwargs.greeting ?? 'Hello'}, ${name}${kwargs.punctuation ?? '!'}`);
  on('fail').calls(({ args: [type = 'ValueError', message = 'boom'] }) => {
    throw pythonError(type as string, message as string);
  });
  on('fail_with_cause').throws(
    pythonError('RuntimeError', 'lookup failed', { cause: { type: 'KeyError', message: "'missing'" } }),
  );
  on('no_such_function').throws(
    pythonError('AttributeError', `module '${CONTRACT_MODULE}' has no attribute 'no_such_function'`),
  );
  mock.on('no_such_module_xyz.f').throws(pythonError('ModuleNotFoundError', "No module named 'no_such_module_xyz'"));
  on('sleep').calls(async ({ args: [seconds], signal }) => {
    await sleep(seconds as number, signal);
    return seconds;
  });
  on('slow_echo').calls(async ({ args: [value, seconds], signal }) => {
    await sleep(seconds as number, signal);
    return value;
  });
  on('cancellable_sleep').calls(async ({ args: [tag, seconds], signal }) => {
    state.set(`${tag}:started`, true);
    try {
      await sleep(seconds as number, signal);
    } catch (error) {
      state.set(tag as string, 'cancelled');
      throw error;
    }
  });
  on('remember').calls(({ args: [key, value] }) => {
    state.set(key as string, value);
    return null;
  });
  on('recall').calls(({ args: [key] }) => state.get(key as string) ?? null);
  on('count').calls(function* ({ args: [n] }) {
    for (let i = 0; i < (n as number); i++) yield i;
  });
  on('async_count').calls(async function* ({ args: [n] }) {
    for (let i = 0; i < (n as number); i++) yield i;
  });
  on('count_then_fail').calls(function* ({ args: [n] }) {
    for (let i = 0; i < (n as number); i++) yield i;
    throw pythonError('RuntimeError', 'stream failed');
  });
  on('slow_count').calls(async function* ({ args: [n, seconds], signal }) {
    for (let i = 0; i < (n as number); i++) {
      if (i > 0) await sleep(seconds as number, signal);
      yield i;
    }
  });
  on('endless').calls(function* ({ args: [tag] }) {
    let i = 0;
    try {
      for (;;) {
        state.set(`${tag}:produced`, i + 1);
        yield i++;
      }
    } finally {
      state.set(tag as string, 'closed');
    }
  });
  on('make_counter').calls(({ args: [start] }) =>
    pyObject('snakebridge.testing.contract.Counter', new Counter(start as number)),
  );
  on('read_counter').calls(({ args: [counter] }) => (counter as Counter).value);
  mock.onGetattr(`${CONTRACT_MODULE}.ANSWER`).returns(42);
  mock.on('x * 2 + 1', 'eval').calls(({ kwargs }) => (kwargs.x as number) * 2 + 1);
  mock.on('y = 1', 'exec').returns(null);
  mock.on('iter(range(3))', 'eval').returns(pyObject('builtins.range_iterator', [0, 1, 2][Symbol.iterator]()));
  return mock;
}

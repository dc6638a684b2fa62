import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelledError,
  createBridge,
  handleOf,
  kwargs,
  PythonError,
  release,
  SerializationError,
  TimeoutError,
  UnprogrammedCallError,
} from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { type MockCall, MockInvoker, pyObject, pythonError, RecordingInvoker, replayFixtures } from '../src/index.js';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MockInvoker programming', () => {
  it('answers the most recently programmed matching response', async () => {
    const mock = new MockInvoker();
    mock.on('m.f').returns('default');
    mock.on('m.f').withArgs(1, 2).returns('specific');
    const bridge = await createBridge({}, { invoker: mock });
    expect(await bridge.call('m.f', [1, 2])).toBe('specific');
    expect(await bridge.call('m.f', [3])).toBe('default');
  });

  it('matches keyword arguments and predicates', async () => {
    const mock = new MockInvoker();
    mock.on('m.f').withKwargs({ mode: 'fast' }).returns('fast');
    mock
      .on('m.f')
      .when((_args, kw) => !('mode' in kw))
      .returns('no args');
    const bridge = await createBridge({}, { invoker: mock });
    expect(await bridge.call('m.f', [], { mode: 'fast' })).toBe('fast');
    expect(await bridge.call('m.f')).toBe('no args');
  });

  it('uses a once() response a single time, then falls back', async () => {
    const mock = new MockInvoker();
    mock.on('m.next_id').returns(0);
    mock.on('m.next_id').once().returns(1);
    const bridge = await createBridge({}, { invoker: mock });
    expect([await bridge.call('m.next_id'), await bridge.call('m.next_id')]).toEqual([1, 0]);
  });

  it('in strict mode rejects an unprogrammed call with a message listing what is programmed', async () => {
    const mock = new MockInvoker();
    mock.on('numpy.mean').returns(1);
    mock.on('numpy.linalg.norm').withArgs([1, 2]).returns(2);
    const bridge = await createBridge({}, { invoker: mock });
    const error = await bridge.call('numpy.median', [[1, 2]]).catch((e: unknown) => e);
    expect(UnprogrammedCallError.is(error)).toBe(true);
    expect((error as Error).message).toContain('numpy.median with args [[1,2]]');
    expect((error as Error).message).toContain('numpy.mean (any args)');
    expect((error as Error).message).toContain('numpy.linalg.norm (args [[1,2]])');
  });

  it('in lenient mode answers an unprogrammed call with null', async () => {
    const bridge = await createBridge({}, { invoker: new MockInvoker({ strict: false }) });
    expect(await bridge.call('anything.at_all')).toBeNull();
  });

  it('throws programmed Python exceptions with their family code', async () => {
    const mock = new MockInvoker();
    mock.on('pandas.read_csv').throws('FileNotFoundError', "No such file: 'x.csv'");
    const bridge = await createBridge({}, { invoker: mock });
    const error = await bridge
      .module('pandas')
      .read_csv('x.csv')
      .catch((e: unknown) => e);
    expect(PythonError.is(error, 'PYTHON_FILE_NOT_FOUND_ERROR')).toBe(true);
    expect((error as PythonError).isInstance('OSError')).toBe(true);
  });

  it('delays responses so timeouts can be tested', async () => {
    const mock = new MockInvoker();
    mock.on('m.slow').delay(5_000).returns(1);
    const bridge = await createBridge({}, { invoker: mock });
    const error = await bridge.call('m.slow', [], undefined, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(TimeoutError.is(error)).toBe(true);
  });

  it('refuses arguments a real bridge could not send', async () => {
    const mock = new MockInvoker();
    mock.on('m.f').returns(1);
    const bridge = await createBridge({}, { invoker: mock });
    const error = await bridge.call('m.f', [Symbol('s')]).catch((e: unknown) => e);
    expect(SerializationError.is(error)).toBe(true);
  });

  it('hands functions in the arguments to the responder as callbacks it can call, as Python would', async () => {
    const mock = new MockInvoker();
    mock.on('m.map_with').calls(async ({ args: [callback, items] }) => {
      const results: unknown[] = [];
      for (const item of items as number[]) results.push(await (callback as (x: number) => unknown)(item));
      return results;
    });
    const bridge = await createBridge({}, { invoker: mock });
    const double = (x: number) => x * 2;
    expect(await bridge.call('m.map_with', [double, [1, 2]])).toEqual([2, 4]);
    expect(mock.calls[0]?.args[0]).toBe(double);
  });

  it('records every call with its arguments for assertions', async () => {
    const mock = new MockInvoker({ strict: false });
    const bridge = await createBridge({}, { invoker: mock });
    await bridge.module('numpy').linalg.norm([3, 4], kwargs({ ord: 2 }));
    expect(mock.calls).toEqual([
      expect.objectContaining({ op: 'call', target: 'numpy.linalg.norm', args: [[3, 4]], kwargs: { ord: 2 } }),
    ]);
  });

  it('streams programmed items, then a programmed error', async () => {
    const mock = new MockInvoker();
    mock.on('m.gen').yields([1, 2], pythonError('ValueError', 'done badly'));
    const bridge = await createBridge({}, { invoker: mock });
    const items: unknown[] = [];
    const error = await (async () => {
      for await (const item of bridge.stream('m.gen')) items.push(item);
    })().catch((e: unknown) => e);
    expect(items).toEqual([1, 2]);
    expect(PythonError.is(error, 'PYTHON_VALUE_ERROR')).toBe(true);
  });

  it('turns returned objects into handle proxies backed by the JavaScript object', async () => {
    class FakeModel {
      fitted = false;
      fit(): this {
        this.fitted = true;
        return this;
      }
      predict(xs: number[]): number[] {
        return xs.map((x) => x * 2);
      }
    }
    const mock = new MockInvoker();
    mock
      .on('sklearn.linear_model.LinearRegression')
      .calls(() => pyObject('sklearn.linear_model.LinearRegression', new FakeModel()));
    const bridge = await createBridge({}, { invoker: mock });
    const sk = bridge.module('sklearn');
    const model = await sk.linear_model.LinearRegression();
    expect(handleOf(model)?.type).toBe('sklearn.linear_model.LinearRegression');
    await model.fit([[1]], [2]);
    expect(await model.fitted).toBe(true);
    expect(await model.predict([1, 2])).toEqual([2, 4]);
    await release(model);
    await expect(model.predict([1])).rejects.toMatchObject({ code: 'HANDLE_INVALID' });
  });

  it('answers calls made on a result before it came back, once it does (it does not pipeline)', async () => {
    const mock = new MockInvoker();
    mock
      .on('sklearn.linear_model.LinearRegression')
      .calls(() => pyObject('sklearn.linear_model.LinearRegression', { fit: () => 'fitted', coef_: 0.5 }));
    const bridge = await createBridge({}, { invoker: mock });
    const model = bridge.module('sklearn').linear_model.LinearRegression();
    const [fitted, coef] = await Promise.all([model.fit([[1]], [2]), model.coef_]);
    expect([fitted, coef]).toEqual(['fitted', 0.5]);
    expect(mock.calls.map((call) => [call.op, call.target, call.handle === undefined])).toEqual([
      ['call', 'sklearn.linear_model.LinearRegression', true],
      ['call', 'fit', false],
      ['getattr', 'coef_', false],
    ]);
  });
});

describe('MockInvoker streams', () => {
  const call = { op: 'call', target: 'm.gen' } as const;

  /** Programs m.gen with a generator that yields 0, then sleeps 3 s ignoring its signal, and records its call. */
  function slowGenerator(mock: MockInvoker): { seen: MockCall[] } {
    const seen: MockCall[] = [];
    mock.on('m.gen').calls(async function* (received: MockCall) {
      seen.push(received);
      yield 0;
      await wait(3_000);
      yield 1;
    });
    return { seen };
  }

  it('rejects at the timeout while the generator sleeps between items, and aborts the responder’s signal', async () => {
    const mock = new MockInvoker();
    const { seen } = slowGenerator(mock);
    const started = Date.now();
    const iterator = mock.stream(call, { timeoutMs: 200 });
    expect(await iterator.next()).toEqual({ done: false, value: 0 });
    const error = await iterator.next().catch((e: unknown) => e);
    // Loose bound: it must not wait for the generator's 3 s sleep (nor its return()).
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(TimeoutError.is(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(200);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(TimeoutError.is(seen[0]?.signal.reason)).toBe(true);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('rejects with CancelledError when the caller’s signal aborts between items, and aborts the responder’s signal', async () => {
    const mock = new MockInvoker();
    const { seen } = slowGenerator(mock);
    const controller = new AbortController();
    const iterator = mock.stream(call, { signal: controller.signal });
    expect(await iterator.next()).toEqual({ done: false, value: 0 });
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await iterator.next().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(CancelledError.is(error)).toBe(true);
    expect(seen[0]?.signal.aborted).toBe(true);
  });

  it('aborts the responder’s signal when the consumer stops early, but not when the stream ends', async () => {
    const mock = new MockInvoker();
    const signals: AbortSignal[] = [];
    mock.on('m.gen').calls(function* ({ signal }: MockCall) {
      signals.push(signal);
      yield* [1, 2, 3];
    });
    for await (const item of mock.stream(call)) if (item === 1) break;
    for await (const _ of mock.stream(call));
    expect(signals.map((signal) => signal.aborted)).toEqual([true, false]);
  });

  it('does not call the responder when the signal is already aborted', async () => {
    const mock = new MockInvoker();
    const { seen } = slowGenerator(mock);
    const error = await mock
      .stream(call, { signal: AbortSignal.abort() })
      .next()
      .catch((e: unknown) => e);
    expect(CancelledError.is(error)).toBe(true);
    expect(seen).toHaveLength(0);
  });

  it('runs the generator at most `window` items ahead of the consumer, copying each item as it is yielded', async () => {
    const mock = new MockInvoker({ streamWindow: 10 });
    let produced = 0;
    mock.on('m.gen').calls(function* () {
      const growing: number[] = [];
      for (;;) {
        produced += 1;
        growing.push(growing.length);
        yield growing; // the same array each time, as Python would serialize it at each yield
      }
    });
    const iterator = mock.stream<number[]>(call, { window: 2 });
    expect((await iterator.next()).value).toEqual([0]);
    await wait(20);
    // Item 0 was consumed; items 1 and 2 fill the window, and the generator waits.
    expect(produced).toBe(3);
    expect((await iterator.next()).value).toEqual([0, 1]);
    await iterator.return?.();

    // Without a window in the call, the invoker's streamWindow applies.
    produced = 0;
    const defaulted = mock.stream(call);
    await defaulted.next();
    await wait(20);
    expect(produced).toBe(1 + 10);
    await defaulted.return?.();
  });
});

describe('record and replay', () => {
  it('replays what a recorded invoker answered, results, errors and streams alike', async () => {
    const live = new MockInvoker();
    live.on('m.add').calls(({ args: [a, b] }) => (a as number) + (b as number));
    live.on('m.bytes').returns(new Uint8Array([1, 2, 3]));
    live.on('m.fail').throws('KeyError', "'k'");
    live.on('m.gen').yields(['a', 'b']);
    const file = join(mkdtempSync(join(tmpdir(), 'sb-fixtures-')), 'python.json');
    const recorder = new RecordingInvoker(live, file);
    const recording = await createBridge({}, { invoker: recorder });
    await recording.call('m.add', [1, 2]);
    await recording.call('m.add', [2, 2]);
    await recording.call('m.bytes');
    await recording.call('m.fail').catch(() => undefined);
    for await (const _ of recording.stream('m.gen'));
    await recording.close();
    recorder.save();

    const replaying = new MockInvoker();
    replayFixtures(replaying, file);
    const bridge = await createBridge({}, { invoker: replaying });
    expect(await bridge.call('m.add', [2, 2])).toBe(4);
    expect(await bridge.call('m.add', [1, 2])).toBe(3);
    expect(await bridge.call('m.bytes')).toEqual(new Uint8Array([1, 2, 3]));
    await expect(bridge.call('m.fail')).rejects.toMatchObject({ code: 'PYTHON_KEY_ERROR', pythonType: 'KeyError' });
    const items: unknown[] = [];
    for await (const item of bridge.stream('m.gen')) items.push(item);
    expect(items).toEqual(['a', 'b']);
    await expect(bridge.call('m.add', [9, 9])).rejects.toMatchObject({ code: 'UNPROGRAMMED_CALL' });
  });

  it('replays from the fixture file named in the config', async () => {
    const live = new MockInvoker();
    live.on('m.answer').returns(42);
    const file = join(mkdtempSync(join(tmpdir(), 'sb-fixtures-')), 'python.json');
    const recorder = new RecordingInvoker(live, file);
    await recorder.call({ op: 'call', target: 'm.answer' });
    recorder.save();
    const bridge = await createBridge({ invoker: 'mock', mock: { fixtures: file } }, { env: {} });
    expect(await bridge.call('m.answer')).toBe(42);
  });
});

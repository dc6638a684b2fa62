import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
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
import { MockInvoker, pyObject, pythonError, RecordingInvoker, replayFixtures } from '../src/index.js';

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
    const error = await bridge.call('m.f', [() => 1]).catch((e: unknown) => e);
    expect(SerializationError.is(error)).toBe(true);
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

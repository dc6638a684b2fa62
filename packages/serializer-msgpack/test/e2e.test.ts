// The msgpack serializer end to end: real Python workers through the stdio
// invoker, with the worker started for msgpack.

import { fileURLToPath } from 'node:url';
import { StdioInvoker } from '@snakebridge/adapter-stdio';
import {
  type Bridge,
  createBridge,
  HandleRef,
  NDArray,
  PythonError,
  resolveConfig,
  SerializationError,
  silentLogger,
} from '@snakebridge/core';
import { describeInvokerContract } from '@snakebridge/core/testing';
import * as vitest from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

function msgpackInvoker(): StdioInvoker {
  const config = resolveConfig(
    { serializer: 'msgpack', python: { path: [FIXTURES] }, pool: { min: 1, max: 1 } },
    { env: {} },
  );
  return new StdioInvoker({ config, serializer: new MsgpackSerializer(), logger: silentLogger });
}

const fixture = (name: string, args: unknown[] = []) => ({
  op: 'call' as const,
  target: `msgpack_fixture.${name}`,
  args,
});

describe('msgpack through real Python workers', () => {
  let invoker: StdioInvoker;
  beforeAll(async () => {
    invoker = msgpackInvoker();
    await invoker.start();
  });
  afterAll(() => invoker.close());

  it('delivers a 1,000,000-element Float64Array as a float64 ndarray of shape (1000000,), and gets it back', async () => {
    const data = Float64Array.from({ length: 1_000_000 }, (_, i) => i / 7);
    const seen = await invoker.call(fixture('describe_array', [data]));
    expect(seen).toEqual({
      type: 'numpy.ndarray',
      dtype: 'float64',
      shape: [1_000_000],
      aligned: true,
      sum: expect.closeTo(
        data.reduce((a, b) => a + b, 0),
        0,
      ),
    });
    const back = await invoker.call<Float64Array>(fixture('echo', [data]));
    expect(back).toBeInstanceOf(Float64Array);
    expect(back).toEqual(data);
    const doubled = await invoker.call<Float64Array>(fixture('double', [data]));
    expect(doubled[999_999]).toBe((999_999 / 7) * 2);
  });

  it('round-trips a 2-D NDArray, and receives Python matrices as NDArray', async () => {
    const matrix = new NDArray(new Int32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(await invoker.call(fixture('describe_array', [matrix]))).toMatchObject({ dtype: 'int32', shape: [2, 3] });
    expect(await invoker.call(fixture('echo', [matrix]))).toEqual(matrix);
    expect(await invoker.call(fixture('matrix', [2, 3]))).toEqual(
      new NDArray(new Float64Array([0, 1, 2, 3, 4, 5]), [2, 3]),
    );
  });

  it('reads arrays nested in a result in place, Python having aligned them in the message', async () => {
    const result = await invoker.call<{ a: Int32Array; bb: Float64Array; ccc: [BigUint64Array] }>(
      fixture('arrays_in_a_dict'),
    );
    expect(result.a).toEqual(new Int32Array([0, 1, 2]));
    expect(result.bb).toEqual(new Float64Array([0, 0.25, 0.5, 0.75, 1]));
    expect(result.ccc[0]).toEqual(new BigUint64Array([0n, 1n, 2n, 3n]));
    // All three view one buffer, the frame they arrived in: none was copied to be aligned.
    expect(result.bb.buffer).toBe(result.a.buffer);
    expect(result.ccc[0].buffer).toBe(result.a.buffer);
  });

  it('reads large arrays that the worker wrote from their own memory, aligned in place in one frame', async () => {
    const count = 100_000; // 800 KB and 400 KB: over the worker's threshold for scattered writes
    const [first, floats, nested, last] = await invoker.call<[string, Float64Array, { k: Int32Array }, string]>(
      fixture('large_arrays_in_a_list', [count]),
    );
    expect([first, last]).toEqual(['odd', 'xxxxxxx']);
    expect(floats).toEqual(Float64Array.from({ length: count }, (_, i) => i));
    expect(nested.k).toEqual(Int32Array.from({ length: count }, (_, i) => i * 2));
    expect(nested.k.buffer).toBe(floats.buffer); // views of the frame: aligned as if written in one piece
  });

  it('returns an object msgpack cannot carry as a HandleRef that can be called', async () => {
    const point = await invoker.call<HandleRef>(fixture('make_point', [3, 4]));
    expect(point).toBeInstanceOf(HandleRef);
    expect(point.type).toBe('msgpack_fixture.Point');
    expect(await invoker.call({ op: 'call', target: 'norm', handle: point })).toBe(5);
    const [before, inner, after] = await invoker.call<unknown[]>(fixture('point_in_a_list', [1, 0]));
    expect([before, after]).toEqual(['before', { after: true }]);
    expect(inner).toBeInstanceOf(HandleRef);
    expect(await invoker.call(fixture('echo', [inner]))).toBeInstanceOf(HandleRef);
    await invoker.release([point, inner as HandleRef]);
  });

  it('round-trips bigints, Maps, Sets and Dates through Python', async () => {
    const values = [
      2n ** 64n + 5n,
      -(2n ** 63n),
      7n,
      new Map<unknown, unknown>([
        [1, 'one'],
        ['two', 2],
        [[3, 4], 'pair'],
      ]),
      new Set([1, 'a', 2n ** 70n]),
      new Date('2024-02-29T12:34:56.789Z'),
      new Date(-1),
    ];
    expect(await invoker.call(fixture('types_of', values))).toEqual([
      'int',
      'int',
      'int',
      'dict',
      'set',
      'datetime',
      'datetime',
    ]);
    const [big, negative, small, map, set, date, beforeEpoch] = await invoker.call<unknown[]>(
      fixture('echo', [values]),
    );
    expect([big, negative, set, date, beforeEpoch]).toEqual([values[0], values[1], values[4], values[5], values[6]]);
    expect(small).toBe(7); // a small Python int is a plain msgpack int, a number in JavaScript
    expect(map).toEqual(values[3]); // non-string keys: it stays a Map
    expect(await invoker.call(fixture('describe_map', [values[3]]))).toEqual([
      ['int', '1'],
      ['str', "'two'"],
      ['tuple', '(3, 4)'],
    ]);
    expect(await invoker.call(fixture('describe_date', [values[5]]))).toEqual({
      iso: '2024-02-29T12:34:56.789000+00:00',
      utc: true,
    });
  });

  it('receives a Python int beyond 2^64 as a bigint, and ints beyond ±(2^53 - 1) as bigints', async () => {
    expect(await invoker.call(fixture('huge_int'))).toBe(2n ** 70n + 1n);
    expect(await invoker.call(fixture('integers'))).toEqual([
      Number.MAX_SAFE_INTEGER,
      2n ** 53n,
      -(2n ** 63n),
      2n ** 64n - 1n,
      2n ** 64n,
      2 ** 40,
    ]);
  });

  it('still reports Python errors, which always travel as JSON', async () => {
    const error = await invoker.call(fixture('describe_array', [[1, 2]])).catch((e: unknown) => e);
    expect(PythonError.is(error)).toBe(true);
    expect((error as PythonError).message).toMatch(/AttributeError|dtype/);
  });

  it('refuses to send a symbol, before anything reaches Python', async () => {
    await expect(invoker.call(fixture('echo', [{ tag: Symbol('s') }]))).rejects.toThrow(SerializationError);
  });
});

describe('a bridge configured with serializer msgpack', () => {
  let bridge: Bridge;
  beforeAll(async () => {
    bridge = await createBridge(
      { invoker: 'stdio', serializer: 'msgpack', pool: { min: 1, max: 1 }, python: { path: [FIXTURES] } },
      { env: {}, logger: silentLogger },
    );
  });
  afterAll(() => bridge.close());

  it('loads this package by name and calls numpy with typed arrays', async () => {
    const np = bridge.module('numpy');
    expect(await np.linalg.norm(new Float64Array([3, 4]))).toBe(5);
    expect(await np.add(new Int32Array([1, 2]), new Int32Array([10, 20]))).toEqual(new Int32Array([11, 22]));
  });

  it('wraps a handle in a proxy whose methods call Python', async () => {
    await using point = await bridge.module('msgpack_fixture').make_point(6, 8);
    expect(await point.norm()).toBe(10);
    expect(await point.x).toBe(6);
  });
});

describeInvokerContract(vitest, 'stdio with the msgpack serializer', { create: msgpackInvoker });

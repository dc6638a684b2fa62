// The wire form and the edge cases of the msgpack serializer, beyond the golden vectors.

import {
  HANDLE_REF,
  HandleRef,
  type HandleWire,
  NDArray,
  SerializationError,
  SerializerWireId,
} from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../src/index.js';

const msgpack = new MsgpackSerializer();
const hex = (value: unknown): string => Buffer.from(msgpack.encode(value)).toString('hex');
const roundTrip = (value: unknown): unknown => msgpack.decode(msgpack.encode(value));
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/ /g, ''), 'hex'));

describe('MsgpackSerializer identity', () => {
  it('names itself msgpack, wire id 2, application/msgpack', () => {
    expect([msgpack.id, msgpack.wireId, msgpack.contentType]).toEqual(['msgpack', 2, 'application/msgpack']);
    expect(msgpack.wireId).toBe(SerializerWireId.msgpack);
  });

  it('carries every kind of value but Arrow tables', () => {
    expect(msgpack.supports.has('arrowTable')).toBe(false);
    expect(msgpack.supports.size).toBe(15);
  });
});

describe('MsgpackSerializer numbers', () => {
  it('writes integers in the smallest form, positive ones unsigned, as msgpack-python does', () => {
    expect([hex(0), hex(127), hex(128), hex(-33), hex(65536), hex(-(2 ** 31))]).toEqual([
      '00',
      '7f',
      'cc80',
      'd0df',
      'ce00010000',
      'd280000000',
    ]);
  });

  it('writes a safe integer beyond 32 bits as an int, not as the float msgpackr would write', () => {
    expect(hex(2 ** 40)).toBe('cf0000010000000000');
    expect(hex(-(2 ** 40))).toBe('d3ffffff0000000000');
    expect(roundTrip(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('sends an integral number beyond 2^53 as the float 64 it already is', () => {
    expect(hex(2 ** 60)).toBe('cb43b0000000000000');
    expect(roundTrip(2 ** 60)).toBe(2 ** 60);
  });

  it('keeps -0, NaN and the infinities as float 64', () => {
    expect(hex(-0)).toBe('cb8000000000000000');
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(hex(Number.NaN)).toBe('cb7ff8000000000000');
    expect(roundTrip([Infinity, -Infinity])).toEqual([Infinity, -Infinity]);
  });

  it('never writes float 32', () => {
    expect(hex(1.5)).toBe('cb3ff8000000000000');
    expect(hex(0.1)).toBe('cb3fb999999999999a');
  });

  it('reads an int 64 beyond ±(2^53 - 1) as a bigint, never as a rounded number', () => {
    expect(msgpack.decode(bytes('cf 0020000000000000'))).toBe(2n ** 53n);
    expect(msgpack.decode(bytes('d3 ffe0000000000000'))).toBe(-(2n ** 53n));
    expect(msgpack.decode(bytes('cf 001fffffffffffff'))).toBe(2 ** 53 - 1);
  });

  it('sends a bigint as an int 64 when it fits and reads back as a bigint, else in the bigint extension', () => {
    expect(hex(2n ** 60n)).toBe('cf1000000000000000');
    expect(hex(5n)).toBe('d45005');
    expect(hex(2n ** 64n)).toBe('c70950010000000000000000');
    for (const value of [0n, -1n, 5n, 2n ** 53n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 64n, -(10n ** 40n), 2n ** 1000n]) {
      expect(roundTrip(value)).toBe(value);
    }
  });
});

describe('MsgpackSerializer strings, bytes and containers', () => {
  it('replaces a lone surrogate with U+FFFD, since UTF-8 cannot carry it', () => {
    expect(roundTrip('a\ud800b')).toBe('a\ufffdb');
    expect(roundTrip({ 'k\udc00': 1 })).toEqual({ 'k\ufffd': 1 });
  });

  it('sends Uint8Array and Buffer as bin and reads bin as a plain Uint8Array view', () => {
    expect(hex(Buffer.from([1, 2]))).toBe('c4020102');
    expect(hex(new Uint8Array([1, 2]))).toBe('c4020102');
    const input = Buffer.from(bytes('c4 03 010203'));
    const decoded = msgpack.decode(input) as Uint8Array;
    expect(decoded.constructor).toBe(Uint8Array);
    expect(decoded.buffer).toBe(input.buffer); // a view, not a copy
  });

  it('writes undefined as nil', () => {
    expect(hex(undefined)).toBe('c0');
    expect(roundTrip({ a: undefined, b: [undefined] })).toEqual({ a: null, b: [null] });
  });

  it('reads a map whose keys are all strings as a plain object, and any other map as a Map', () => {
    expect(msgpack.decode(bytes('81 a161 01'))).toEqual({ a: 1 });
    expect(msgpack.decode(bytes('82 a161 01 02 a162'))).toEqual(
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
      ]),
    );
  });

  it('keeps a __proto__ key as an own property, not a prototype', () => {
    const decoded = msgpack.decode(bytes('81 a95f5f70726f746f5f5f 81 a161 01')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__']);
    expect(roundTrip(decoded)).toStrictEqual(decoded);
  });

  it('sends every Map in the map extension, so it comes back a Map even with string keys', () => {
    expect(roundTrip(new Map([['a', 1]]))).toEqual(new Map([['a', 1]]));
    expect(roundTrip(new Map([[[1, 2], new Set([1])]]))).toEqual(new Map([[[1, 2], new Set([1])]]));
  });

  it('sends a class instance as its own enumerable properties and ignores toJSON', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      toJSON() {
        return 'not this';
      }
    }
    expect(roundTrip(new Point(1, 2))).toEqual({ x: 1, y: 2 });
    expect(roundTrip({ toJSON: 'data', constructor: 'also data' })).toEqual({
      toJSON: 'data',
      constructor: 'also data',
    });
  });

  it('does not change the value it encodes', () => {
    const value = { when: new Date(0), n: -0, list: [2 ** 40, new Set([1])], m: new Map([[1, 2]]) };
    const before = structuredClone(value);
    msgpack.encode(value);
    expect(value).toStrictEqual(before);
  });

  it('sends objects with a null prototype and arrays with holes', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(bare)).toEqual({ a: 1 });
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested
    expect(roundTrip([1, , 3])).toEqual([1, null, 3]);
  });
});

describe('MsgpackSerializer dates', () => {
  it('writes the smallest timestamp that holds the date, as msgpack-python does', () => {
    expect(hex(new Date(0))).toBe('d6ff00000000');
    expect(hex(new Date('2024-02-29T12:34:56.789Z'))).toBe('d7ffbc1cbd0065e079f0');
    // msgpackr itself would switch to 96 bits here, past 2^32 seconds.
    expect(hex(new Date('2200-01-01T00:00:00.000Z'))).toBe('d7ff00000001b09e1900');
    expect(hex(new Date(-1))).toBe('c70cff3b8b87c0ffffffffffffffff');
  });

  it('round-trips dates to the millisecond, before 1970 too', () => {
    for (const date of [new Date(-1), new Date(-1e12 - 1), new Date('9999-12-31T23:59:59.999Z'), new Date(8.64e15)]) {
      expect(roundTrip(date)).toEqual(date);
    }
  });
});

describe('MsgpackSerializer typed arrays', () => {
  it('sends a typed array as a header and its raw bytes, the elements 8-aligned within the payload', () => {
    const encoded = msgpack.encode(new Float64Array([1.5, -2]));
    expect(Buffer.from(encoded.subarray(0, 11)).toString('hex')).toBe('c7185309010800' + '02000000');
    expect(new Float64Array(Uint8Array.prototype.slice.call(encoded, 11).buffer)).toEqual(new Float64Array([1.5, -2]));
  });

  it('reads an aligned typed array as a view over the received bytes, without a copy', () => {
    const source = new Float64Array([1, 2, 3]);
    const encoded = msgpack.encode(source);
    // At offset 5 the elements (3 bytes of ext header, 8 of ours, in) land on byte 16.
    const received = new Uint8Array(new ArrayBuffer(64), 5, encoded.byteLength);
    received.set(encoded);
    const decoded = msgpack.decode(received);
    expect(decoded).toEqual(source);
    expect((decoded as Float64Array).buffer).toBe(received.buffer);
  });

  it('copies a typed array whose bytes arrive misaligned, and still reads it right', () => {
    const encoded = msgpack.encode(new Float64Array([1, 2, 3]));
    const shifted = new Uint8Array(encoded.byteLength + 1).subarray(1);
    shifted.set(encoded);
    const decoded = msgpack.decode(shifted) as Float64Array;
    expect(decoded).toEqual(new Float64Array([1, 2, 3]));
    expect(decoded.buffer).not.toBe(shifted.buffer);
  });

  it('sends subarray views by their own bytes only', () => {
    const whole = new Int32Array([1, 2, 3, 4, 5]);
    expect(roundTrip(whole.subarray(1, 3))).toEqual(new Int32Array([2, 3]));
  });

  it('reads 1-D arrays as typed arrays, except uint8, and others as NDArray', () => {
    expect(roundTrip(new NDArray(new Float32Array([1, 2]), [2]))).toEqual(new Float32Array([1, 2]));
    expect(roundTrip(new NDArray(new Uint8Array([1, 2]), [2]))).toEqual(new NDArray(new Uint8Array([1, 2]), [2]));
    const matrix = new NDArray(new BigUint64Array([1n, 2n, 3n, 4n, 5n, 6n]), [3, 1, 2]);
    expect(roundTrip(matrix)).toEqual(matrix);
    expect(roundTrip(new NDArray(new Float64Array([7]), []))).toEqual(new NDArray(new Float64Array([7]), []));
  });
});

describe('MsgpackSerializer handles', () => {
  it('sends a HandleRef or a handle proxy as the handle extension and reports each one', () => {
    const ref = new HandleRef({ id: 3, type: 'pkg.Model', repr: '<Model>' });
    const proxy = new Proxy(() => undefined, { get: (_target, key) => (key === HANDLE_REF ? ref : undefined) });
    const seen: HandleRef[] = [];
    const encoded = msgpack.encode({ a: ref, b: proxy }, { onHandle: (handle) => seen.push(handle) });
    expect(seen).toEqual([ref, ref]);
    expect(Buffer.from(encoded).toString('hex')).toContain('c70c54' + '9203a9706b672e4d6f64656c');
  });

  it('reads a handle with its repr from Python, through the context when there is one', () => {
    const wire = bytes('c714 54 9303a9706b672e4d6f64656ca73c4d6f64656c3e');
    expect(msgpack.decode(wire)).toEqual(new HandleRef({ id: 3, type: 'pkg.Model', repr: '<Model>' }));
    const wires: HandleWire[] = [];
    expect(msgpack.decode(wire, { handle: (handle) => wires.push(handle) && 'proxy' })).toBe('proxy');
    expect(wires).toEqual([{ id: 3, type: 'pkg.Model', repr: '<Model>' }]);
  });
});

describe('MsgpackSerializer refusals', () => {
  const refusal = (value: unknown): SerializationError => {
    try {
      msgpack.encode(value);
    } catch (error) {
      if (error instanceof SerializationError) return error;
      throw error;
    }
    throw new Error('expected a SerializationError');
  };

  it('names the path of a function or a symbol', () => {
    expect(refusal({ rows: [{ callback: () => 1 }] }).path).toBe('rows[0].callback');
    expect(refusal([Symbol('s')]).path).toBe('[0]');
    expect(refusal(() => 1).path).toBe('(root)');
  });

  it('names the path inside maps and sets', () => {
    expect(refusal({ m: new Map([['k', () => 1]]) }).path).toBe('m.get("k")');
    expect(refusal({ m: new Map([[Symbol('k'), 1]]) }).path).toBe('m<key 0>');
    expect(refusal({ s: new Set([1, () => 1]) }).path).toBe('s<item 1>');
  });

  it('refuses a cycle instead of recursing forever', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = { again: cyclic };
    const error = refusal(cyclic);
    expect(error.message).toMatch(/cycle/);
    expect(error.path).toMatch(/^(self\.again\.)+self\.again$/);
  });

  it('sends the same object twice when it is not a cycle', () => {
    const shared = { a: 1 };
    expect(roundTrip([shared, shared])).toEqual([{ a: 1 }, { a: 1 }]);
  });

  it('refuses built-ins that have no Python counterpart, saying what to do', () => {
    expect(refusal({ p: Promise.resolve(1) }).message).toMatch(/await it first/);
    expect(refusal(new ArrayBuffer(8)).message).toMatch(/Uint8Array/);
    expect(refusal(new Uint8ClampedArray(2)).message).toMatch(/no numpy dtype/);
    expect(refusal(new Date(Number.NaN)).message).toMatch(/invalid Date/);
    expect(refusal(new Error('x')).message).toMatch(/cannot be sent/);
  });

  it.each([
    ['no bytes', ''],
    ['0xc1, which msgpack never uses', 'c1'],
    ['an array cut short', '92 01'],
    ['bytes after the value', '01 02'],
    ['an extension cut short', 'c7 05 53 0901'],
    ['an ndarray with an unknown dtype', 'c7 08 53 63010800 00000000'],
    ['an ndarray whose elements do not fill its shape', 'c7 0c 53 09010800 02000000 00000000'],
    ['a set that holds no array', 'd4 51 01'],
    ['a handle that is not [id, type]', 'd4 54 01'],
    ['an empty bigint', 'c7 00 50'],
  ])('refuses %s with a SerializationError', (_what, text) => {
    expect(() => msgpack.decode(bytes(text))).toThrow(SerializationError);
  });
});

describe('offloading to worker threads', () => {
  it('stays on the main thread: binary passes through it, so a thread would only add copies', async () => {
    const { PayloadOffloader } = await import('@snakebridge/offload');
    const serializer = new MsgpackSerializer();
    const offload = new PayloadOffloader({ serializer, thresholdBytes: 1024, threads: 1 });
    try {
      expect(offload.enabled).toBe(false);
      expect(offload.encode({ samples: new Float64Array(50_000) })).toBeInstanceOf(Uint8Array);
    } finally {
      await offload.close();
    }
  });

  it('can be rebuilt from its recipe, for threads, giving the same bytes', async () => {
    const serializer = new MsgpackSerializer();
    const recipe = serializer.recipe as NonNullable<typeof serializer.recipe>;
    const module = (await import(recipe.module)) as Record<string, (options: unknown) => typeof serializer>;
    const rebuilt = module[recipe.factory]?.(recipe.options);
    const value = { rows: [{ id: 1, name: 'one' }], when: new Date(0), big: 2n ** 70n };
    expect(Buffer.from(rebuilt?.encode(value) ?? [])).toEqual(Buffer.from(serializer.encode(value)));
  });
});

// The behaviour every Serializer must show: what it claims to carry survives a
// round trip exactly, and what it does not claim is refused, never mangled.

import assert from 'node:assert/strict';
import { CallbackRef } from '../callbacks/callback-ref.js';
import { SerializationError } from '../errors/index.js';
import { HandleRef, type HandleWire } from '../handles/handle-ref.js';
import { NDArray } from '../serializer/ndarray.js';
import type { Serializer, ValueKind } from '../serializer/serializer.js';
import type { TestRunner } from './runner.js';

export interface SerializerContractOptions {
  readonly create: () => Serializer | Promise<Serializer>;
}

/** Sample values of each kind, edge cases included. */
export const SAMPLES: Readonly<Record<Exclude<ValueKind, 'arrowTable'>, readonly unknown[]>> = {
  null: [null],
  boolean: [true, false],
  number: [
    0,
    1,
    -1,
    42,
    2 ** 31,
    -(2 ** 31) - 1,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    1.5,
    -2.25,
    1e-300,
    1e300,
    Math.PI,
  ],
  nonFiniteNumber: [Number.NaN, Infinity, -Infinity],
  negativeZero: [-0],
  bigint: [0n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 10n ** 30n],
  string: ['', 'ascii', 'ünïcödé', '漢字', 'emoji 🐍👩‍👩‍👧', 'nul\u0000inside', 'x'.repeat(100_000)],
  bytes: [new Uint8Array(), new Uint8Array([0, 1, 2, 255]), new Uint8Array(1 << 20).fill(7)],
  array: [[], [1, 'a', null], [[[]]], Array.from({ length: 1000 }, (_, i) => i)],
  object: [
    {},
    { a: 1, b: 'two', c: [3] },
    { nested: { deeper: { deepest: {} } } },
    { '': 'empty key', 'with space': 1 },
  ],
  map: [
    new Map(),
    new Map<unknown, unknown>([
      [1, 'one'],
      ['two', 2],
    ]),
    new Map([[true, null]]),
  ],
  set: [new Set(), new Set([1, 'a'])],
  date: [new Date(0), new Date('2024-02-29T12:34:56.789Z'), new Date(-1e12)],
  typedArray: [
    new Float64Array([0, 1.5, -2, Number.MAX_VALUE]),
    new Float32Array([1.5, -0.25]),
    new Int32Array([1, -1, 2 ** 31 - 1]),
    new Int16Array([-32768, 32767]),
    new Uint32Array([0, 2 ** 32 - 1]),
    new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]),
    new NDArray(new Uint8Array([1, 2, 3]), [3]),
  ],
  handle: [new HandleRef({ id: 7, type: 'module.Class' })],
};

/** Values every serializer refuses when no invoker takes functions as callbacks: there is no Python counterpart. */
const ALWAYS_REFUSED: readonly [string, unknown][] = [
  ['a function', () => 1],
  ['a symbol', Symbol('s')],
];

function nest(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { level: value };
  return value;
}

/**
 * Registers the Serializer contract tests with the given runner.
 *
 * @example describeSerializerContract(vitest, 'msgpack', { create: () => new MsgpackSerializer() });
 */
export function describeSerializerContract(runner: TestRunner, name: string, options: SerializerContractOptions): void {
  const { describe, it, beforeAll } = runner;
  let serializer: Serializer;
  const roundTrip = (value: unknown): unknown => serializer.decode(serializer.encode(value));

  describe(`Serializer contract: ${name}`, () => {
    beforeAll(async () => {
      serializer = await options.create();
    });

    it('has a stable id, a wire id and a content type', () => {
      assert.match(serializer.id, /^[a-z][a-z0-9-]*$/);
      assert.ok(Number.isInteger(serializer.wireId) && serializer.wireId > 0 && serializer.wireId < 256);
      assert.ok(serializer.contentType.includes('/'));
      assert.ok(serializer.supports.has('handle'), 'every serializer must carry handles');
    });

    for (const [kind, samples] of Object.entries(SAMPLES) as [ValueKind, readonly unknown[]][]) {
      it(`round-trips ${kind} values exactly, or refuses them with a SerializationError`, () => {
        for (const sample of samples) {
          if (serializer.supports.has(kind)) {
            assert.deepStrictEqual(roundTrip(sample), sample, `${kind} sample did not survive: ${preview(sample)}`);
            assert.deepStrictEqual(roundTrip([sample]), [sample], `${kind} sample inside an array did not survive`);
          } else {
            assert.throws(() => serializer.encode(sample), SerializationError.is.bind(SerializationError));
          }
        }
      });
    }

    it('turns undefined into null', () => {
      assert.deepStrictEqual(roundTrip([undefined, 1]), [null, 1]);
    });

    it('round-trips deep nesting and mixed containers', () => {
      assert.deepStrictEqual(roundTrip(nest(100)), nest(100));
      const mixed = { rows: [{ id: 1, tags: ['a', 'b'], score: 0.5 }], meta: { count: 1, ok: true, note: null } };
      assert.deepStrictEqual(roundTrip(mixed), mixed);
    });

    for (const [what, value] of ALWAYS_REFUSED) {
      it(`refuses ${what} with a SerializationError that says where it is`, () => {
        assert.throws(
          () => serializer.encode({ args: [1, value] }),
          (error: unknown) => SerializationError.is(error) && /args/.test(error.message),
        );
      });
    }

    it('writes each function as the callback reference the invoker chose, or refuses it', () => {
      const first = () => 1;
      const second = () => 2;
      const chosen = new Map<unknown, number>([
        [first, 1],
        [second, 7],
      ]);
      const encode = () =>
        serializer.encode([[first, { onDone: second }], {}], { onFunction: (fn) => chosen.get(fn) ?? 0 });
      let bytes: Uint8Array;
      try {
        bytes = encode();
      } catch (error) {
        // A serializer that cannot carry callbacks (protobuf) says so, typed.
        assert.ok(SerializationError.is(error) && /callback/.test(error.message), String(error));
        return;
      }
      const [[a, b]] = serializer.decode(bytes) as [[unknown, { onDone: unknown }]];
      assert.ok(a instanceof CallbackRef && a.index === 1, `decoded ${String(a)}`);
      assert.ok(b.onDone instanceof CallbackRef && b.onDone.index === 7, `decoded ${String(b.onDone)}`);
    });

    it('reports each handle it encodes and decodes handles through the context', () => {
      const ref = new HandleRef({ id: 41, type: 'pkg.Model' });
      const seen: HandleRef[] = [];
      const bytes = serializer.encode({ model: ref }, { onHandle: (handle) => seen.push(handle) });
      assert.deepEqual(seen, [ref]);
      const wires: HandleWire[] = [];
      const decoded = serializer.decode(bytes, {
        handle: (wire) => {
          wires.push(wire);
          return `proxy:${wire.id}`;
        },
      }) as {
        model: unknown;
      };
      assert.equal(decoded.model, 'proxy:41');
      assert.equal(wires[0]?.id, 41);
      assert.equal(wires[0]?.type, 'pkg.Model');
    });

    it('rejects bytes that are not a valid encoding with a SerializationError', () => {
      const garbage = [new Uint8Array([0xc1]), new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), new Uint8Array()];
      let refused = 0;
      for (const bytes of garbage) {
        try {
          serializer.decode(bytes);
        } catch (error) {
          assert.ok(SerializationError.is(error), `decode threw a ${String(error)}, not a SerializationError`);
          refused += 1;
        }
      }
      assert.ok(refused > 0, 'no malformed input was refused');
    });
  });
}

function preview(value: unknown): string {
  const text = typeof value === 'bigint' ? `${value}n` : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

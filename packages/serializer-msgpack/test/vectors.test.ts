// The TypeScript msgpack serializer against the golden vectors shared with Python.

import { buildValue, expectedBytes, loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../src/index.js';

const vectors = loadVectors('serializers/msgpack.json');
const msgpack = new MsgpackSerializer();
const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

describe('msgpack golden vectors', () => {
  it('covers every row of the type mapping', () => {
    const kinds = new Set(vectors.map((vector) => Object.keys(vector.value)[0]));
    for (const kind of [
      'null',
      'bool',
      'int',
      'bigint',
      'float',
      'str',
      'bytes',
      'list',
      'tuple',
      'dict',
      'map',
      'set',
    ]) {
      expect(kinds).toContain(kind);
    }
    for (const kind of ['date', 'ndarray', 'handle', 'callback']) expect(kinds).toContain(kind);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('decodes %s', (_name, vector) => {
    expect(msgpack.decode(expectedBytes(vector))).toStrictEqual(buildValue(vector.decoded ?? vector.value));
  });

  it('writes functions in call arguments as the callback references the invoker chose', () => {
    const [first, second] = [() => 1, () => 2];
    const vector = vectors.find((v) => v.name === 'callbacks inside the arguments');
    const indexes = new Map<unknown, number>([
      [first, 1],
      [second, 2],
    ]);
    const bytes = msgpack.encode([[1, first], { on_done: second }], { onFunction: (fn) => indexes.get(fn) ?? 0 });
    expect(vector).toBeDefined();
    expect(hex(bytes)).toBe(hex(expectedBytes(vector as NonNullable<typeof vector>)));
  });

  it.each(vectors.filter((v) => v.encode.includes('ts')).map((v) => [v.name, v] as const))(
    'encodes %s to the expected bytes',
    (_name, vector) => {
      expect(hex(msgpack.encode(buildValue(vector.value)))).toBe(hex(expectedBytes(vector)));
    },
  );
});

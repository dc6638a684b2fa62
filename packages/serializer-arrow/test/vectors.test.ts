// The TypeScript Arrow serializer against the golden vectors shared with Python.

import { expectedBytes, loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { createArrowSerializer } from '../src/index.js';
import { arrowContents, buildArrowValue } from './notation.js';

const vectors = loadVectors('serializers/arrow.json');
const arrow = createArrowSerializer();
const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

describe('arrow golden vectors', () => {
  it('cover tables, record batches, nesting, forms and plain msgpack, written by both sides', () => {
    const kinds = new Set(vectors.map((vector) => Object.keys(vector.value)[0]));
    for (const kind of ['table', 'recordBatch', 'list', 'tableAs', 'map', 'null', 'int', 'str', 'dict', 'bytes']) {
      expect(kinds).toContain(kind);
    }
    expect(new Set(vectors.flatMap((vector) => vector.encode))).toEqual(new Set(['ts', 'py']));
  });

  it.each(vectors.map((v) => [v.name, v] as const))('decodes %s', (_name, vector) => {
    const decoded = arrow.decode(expectedBytes(vector));
    expect(arrowContents(decoded)).toStrictEqual(arrowContents(buildArrowValue(vector.decoded ?? vector.value)));
  });

  it.each(vectors.filter((v) => v.encode.includes('ts')).map((v) => [v.name, v] as const))(
    'encodes %s to the expected bytes',
    (_name, vector) => {
      expect(hex(arrow.encode(buildArrowValue(vector.value)))).toBe(hex(expectedBytes(vector)));
    },
  );
});

// The TypeScript JSON serializer against the golden vectors shared with Python.

import { buildValue, expectedBytes, loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { JsonSerializer } from '../src/index.js';

const vectors = loadVectors('serializers/json.json');
const json = new JsonSerializer();

describe('JSON golden vectors', () => {
  it.each(vectors.map((v) => [v.name, v] as const))('decodes %s', (_name, vector) => {
    expect(json.decode(expectedBytes(vector))).toStrictEqual(buildValue(vector.decoded ?? vector.value));
  });

  it.each(vectors.filter((v) => v.encode.includes('ts')).map((v) => [v.name, v] as const))(
    'encodes %s to the expected bytes',
    (_name, vector) => {
      expect(new TextDecoder().decode(json.encode(buildValue(vector.value)))).toBe(
        new TextDecoder().decode(expectedBytes(vector)),
      );
    },
  );
});

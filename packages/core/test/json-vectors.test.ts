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

  it('refuses a callback reference without a positive integer id', () => {
    for (const text of ['{"$sb":"callback"}', '{"$sb":"callback","id":0}', '{"$sb":"callback","id":"1"}']) {
      expect(() => json.decode(new TextEncoder().encode(text)), text).toThrow(/positive integer id/);
    }
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

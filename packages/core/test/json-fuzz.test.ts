// Seeded fuzzing of the JSON decoder (../../serializer-msgpack/test/fuzz-kit.ts):
// golden vectors and tagged objects of every kind, mutated as bytes, decode
// or are refused with a SerializationError, the walk visiting no more nodes
// than there are bytes. Also: nesting bombs, the nesting limit on both encode
// and decode, and malformed tagged values one by one.

import { loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { checkDecoded, fuzz, fuzzTimeout, Rng } from '../../serializer-msgpack/test/fuzz-kit.js';
import { JsonSerializer, MAX_NESTING_DEPTH, SerializationError } from '../src/index.js';
import { decodeJsonTree, JSON_MAX_INT_DIGITS, newJsonWalk } from '../src/serializer-json/json-serializer.js';

const json = new JsonSerializer();
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const TAGS = ['float', 'int', 'bytes', 'date', 'map', 'set', 'ndarray', 'handle', 'callback', 'object', 'nope'];

/** A random JSON value, tagged objects of our kinds included (some of them malformed). */
function randomJson(rng: Rng, depth: number): unknown {
  const pick = rng.below(depth > 3 ? 6 : 10);
  if (pick === 0) return null;
  if (pick === 1) return rng.below(2) === 0;
  if (pick === 2) return rng.pick([0, -1, 1.5, 2 ** 53, -0, 1e308, 12]);
  if (pick === 3) return rng.pick(['', 'NaN', '-Infinity', '12', '-0', 'AAE=', 'x', '2024-02-29T12:00:00Z', 'int8']);
  if (pick === 4 || pick === 5) return rng.pick(['float64', 'uint8', [2, 3], [0], 'aGk=']);
  const items = Array.from({ length: rng.below(4) }, () => randomJson(rng, depth + 1));
  if (pick === 6) return items;
  if (pick === 7) return Object.fromEntries(items.map((item, i) => [`k${i}`, item]));
  const tagged: Record<string, unknown> = { $sb: rng.pick(TAGS), v: randomJson(rng, depth + 1) };
  if (rng.below(2) === 0) Object.assign(tagged, { id: rng.pick([1, 0, -1, 'x', 2 ** 32]), type: 'm.C' });
  if (rng.below(2) === 0)
    Object.assign(tagged, { dtype: rng.pick(['float64', 'int8', 'x']), shape: randomJson(rng, 9) });
  return tagged;
}

function corpus(): Uint8Array[] {
  const vectors = loadVectors('serializers/json.json').map((vector) => utf8(vector.text ?? ''));
  const rng = new Rng(7);
  const structured = Array.from({ length: 300 }, () => utf8(JSON.stringify(randomJson(rng, 0))));
  return [...vectors, ...structured, utf8(`${'['.repeat(MAX_NESTING_DEPTH)}1${']'.repeat(MAX_NESTING_DEPTH)}`)];
}

describe('JSON decoder fuzzing', () => {
  it(
    'decodes or refuses with a SerializationError every mutated and random input, visiting no more nodes than bytes',
    () => {
      const report = fuzz({
        name: 'json',
        corpus: corpus(),
        decode(bytes) {
          checkDecoded(json.decode(bytes), MAX_NESTING_DEPTH);
          const walk = newJsonWalk();
          decodeJsonTree(JSON.parse(new TextDecoder().decode(bytes)), walk);
          return walk.nodes;
        },
        generate: (rng) => utf8(JSON.stringify(randomJson(rng, 0))),
        isTyped: (error) => SerializationError.is(error),
        workPerByte: 1,
        workSlack: 0,
      });
      expect(report.decoded).toBeGreaterThan(report.refused / 20);
    },
    fuzzTimeout(),
  );
});

describe('JSON decoder limits', () => {
  it.each([
    ['arrays', '[', '1', ']'],
    ['objects', '{"a":', '1', '}'],
    ['Maps', '{"$sb":"map","v":[[1,', '1', ']]}'],
    ['sets', '{"$sb":"set","v":[', '1', ']}'],
  ])('refuses 100,000 nested %s with a SerializationError, not a stack overflow', (_kind, open, leaf, close) => {
    const text = `${open.repeat(100_000)}${leaf}${close.repeat(100_000)}`;
    expect(() => json.decode(utf8(text))).toThrow(SerializationError);
    expect(() => json.decode(utf8(text))).toThrow(`nested more than ${MAX_NESTING_DEPTH} levels deep`);
  });

  it('decodes a value nested to the limit and refuses one level more, on encode and decode', () => {
    let value: unknown = 1;
    for (let i = 0; i < MAX_NESTING_DEPTH; i++)
      value = i % 4 === 0 ? new Set([value]) : i % 4 === 1 ? { a: value } : [value];
    expect(json.decode(json.encode(value))).toEqual(value);
    expect(() => json.encode([value])).toThrow(/\[0\].*nested more than 256 levels deep/);
    expect(() => json.decode(utf8(`[${new TextDecoder().decode(json.encode(value))}]`))).toThrow(SerializationError);
  });

  it('counts tagged leaves (bytes, dates, arrays of numbers) as no level of their own', () => {
    const leaf = { when: new Date(0), raw: Uint8Array.of(1), xs: new Float64Array([1]) };
    let value: unknown = leaf;
    for (let i = 1; i < MAX_NESTING_DEPTH; i++) value = [value];
    expect(json.decode(json.encode(value))).toEqual(value);
  });

  it(`refuses ints of more than ${JSON_MAX_INT_DIGITS} digits, which Python cannot read, on encode and decode`, () => {
    const big = 10n ** BigInt(JSON_MAX_INT_DIGITS);
    expect(() => json.encode(big)).toThrow(/more than 4300 digits/);
    expect(() => json.decode(utf8(`{"$sb":"int","v":"${big}"}`))).toThrow(/more than 4300 digits/);
    expect(json.decode(json.encode(big - 1n))).toBe(big - 1n);
  });

  it.each([
    ['a tag that is not a string', '{"$sb":5}', /unknown tag of type number/],
    ['an unknown tag', '{"$sb":"pickle","v":"x"}', /unknown tag "pickle"/],
    ['a float that is not a number', '{"$sb":"float","v":"one"}', /bad float "one"/],
    ['a float that is not a string', '{"$sb":"float","v":1}', /tag float needs a string/],
    ['an int with letters', '{"$sb":"int","v":"12a"}', /bad int "12a"/],
    ['bytes that are not base64', '{"$sb":"bytes","v":"@@@@"}', /tag bytes needs base64/],
    ['a date that is not a date', '{"$sb":"date","v":"yesterday"}', /bad date "yesterday"/],
    ['a map entry that is not a pair', '{"$sb":"map","v":[[1]]}', /at <entry 0>: a map entry must be \[key, value\]/],
    ['a set that is not an array', '{"$sb":"set","v":{}}', /tag set needs an array/],
    ['an ndarray of an unknown dtype', '{"$sb":"ndarray","dtype":"complex","shape":[1],"v":""}', /unsupported dtype/],
    ['an ndarray with a negative dimension', '{"$sb":"ndarray","dtype":"int8","shape":[-1],"v":""}', /non-negative/],
    [
      'an ndarray whose shape does not match its bytes',
      '{"$sb":"ndarray","dtype":"int8","shape":[3],"v":"AQ=="}',
      /cannot hold 1 bytes/,
    ],
    ['a handle with a string id', '{"$sb":"handle","id":"1","type":"x"}', /handle needs an id/],
    ['a handle without a type', '{"$sb":"handle","id":1}', /needs a type name/],
    ['a wrapped object that is an array', '{"$sb":"object","v":[1]}', /tag object needs an object/],
    ['a malformed value deep inside', '{"rows":[{"x":{"$sb":"float","v":"?"}}]}', /at rows\[0\]\.x: bad float/],
    ['bytes that are not UTF-8', '\u00ff', /not valid UTF-8 JSON/],
  ])('refuses %s with a SerializationError naming what is wrong', (_what, text, message) => {
    const bytes = text === '\u00ff' ? Uint8Array.of(0xff) : utf8(text);
    expect(() => json.decode(bytes)).toThrow(SerializationError);
    expect(() => json.decode(bytes)).toThrow(message);
  });
});

// Seeded fuzzing of the msgpack decoder (fuzz-kit.ts): golden vectors mutated
// and random bytes decode or are refused with a SerializationError, the
// structure scan reads no more headers than there are bytes, and whatever
// decodes holds only what the type mapping promises. Also: nesting bombs,
// huge declared counts and malformed extension payloads, one by one.

import { HandleRef, MAX_NESTING_DEPTH, SerializationError } from '@snakebridge/core';
import { expectedBytes, loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { createMsgpackSerializer } from '../src/index.js';
import { OWN_EXT_PAYLOADS, scanMsgpack } from '../src/scan.js';
import { checkDecoded, concat, fuzz, fuzzTimeout, nested } from './fuzz-kit.js';

const msgpack = createMsgpackSerializer();
const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const refusal = (bytes: Uint8Array): unknown => {
  try {
    msgpack.decode(bytes);
  } catch (error) {
    return error;
  }
  throw new Error('the bytes decoded');
};

/** Golden vectors, and a few valid values that reach the limits. */
function corpus(): Uint8Array[] {
  const vectors = loadVectors('serializers/msgpack.json').map(expectedBytes);
  const atTheLimit = nested(hex('91'), hex('c0'), new Uint8Array(0), MAX_NESTING_DEPTH);
  const setsOfMaps = msgpack.encode(new Set([new Map<unknown, unknown>([[[1, 2], new Set(['a'])]]), 5n ** 40n]));
  return [...vectors, atTheLimit, setsOfMaps];
}

describe('msgpack decoder fuzzing', () => {
  it(
    'decodes or refuses with a SerializationError every mutated and random input, within its work budget',
    () => {
      const report = fuzz({
        name: 'msgpack',
        corpus: corpus(),
        decode(bytes) {
          let items: number | undefined;
          try {
            items = scanMsgpack(bytes, OWN_EXT_PAYLOADS).items;
          } catch {
            // decode must refuse these bytes too, which the loop checks is typed
          }
          const value = msgpack.decode(bytes);
          if (items === undefined) throw new Error('decode accepted bytes its scan refuses');
          checkDecoded(value, MAX_NESTING_DEPTH);
          return items;
        },
        isTyped: (error) => SerializationError.is(error),
        workPerByte: 1,
        workSlack: 0,
      });
      // Mutants of valid values often stay valid: both outcomes must be well represented.
      expect(report.decoded).toBeGreaterThan(report.refused / 20);
      expect(report.refused).toBeGreaterThan(report.decoded / 20);
    },
    fuzzTimeout(),
  );
});

describe('msgpack decoder limits', () => {
  it.each([
    ['arrays', hex('91'), hex('c0')],
    ['maps', hex('81 a1 6b'), hex('c0')],
    ['sets', hex('c7 00 51 91'), hex('c0')],
  ])('refuses 100,000 nested %s with a SerializationError, not a stack overflow', (_kind, open, leaf) => {
    const error = refusal(nested(open, leaf, new Uint8Array(0), 100_000));
    expect(SerializationError.is(error)).toBe(true);
  });

  it('decodes arrays nested to the limit and refuses one level more, naming the limit', () => {
    const atLimit = nested(hex('91'), hex('01'), new Uint8Array(0), MAX_NESTING_DEPTH);
    let value: unknown = msgpack.decode(atLimit);
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) value = (value as unknown[])[0];
    expect(value).toBe(1);
    const beyond = concat(hex('91'), atLimit);
    expect(() => msgpack.decode(beyond)).toThrow(`nested more than ${MAX_NESTING_DEPTH} levels deep`);
  });

  it('counts a Set or a Map as one level, and a handle as none, on both sides of the wire', () => {
    let value: unknown = new HandleRef({ id: 7, type: 'm.C' });
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) {
      value = i % 3 === 0 ? new Set([value]) : i % 3 === 1 ? new Map([[i, value]]) : [value];
    }
    expect(msgpack.decode(msgpack.encode(value))).toEqual(value);
    expect(() => msgpack.encode([value])).toThrow(SerializationError);
  });

  it('refuses to encode a value nested deeper than the limit, naming its path', () => {
    let value: unknown = 'bottom';
    for (let i = 0; i <= MAX_NESTING_DEPTH; i++) value = { down: value };
    expect(() => msgpack.encode(value)).toThrow(/nested more than 256 levels deep/);
  });

  it.each([
    ['an array of 2^32 - 1 items', hex('dd ff ff ff ff 01')],
    ['a map of 2^32 - 1 entries', hex('df ff ff ff ff 01 02')],
    ['a string of 2^32 - 1 bytes', hex('db ff ff ff ff 61')],
    ['bin of 2^32 - 1 bytes', hex('c6 ff ff ff ff 00')],
    ['an extension of 2^32 - 1 bytes', hex('c9 ff ff ff ff 51 90')],
  ])('refuses %s declared in a few bytes before allocating anything', (_what, bytes) => {
    expect(() => msgpack.decode(bytes)).toThrow(/declared, but only/);
  });

  it.each([
    ['a set holding a string', hex('d5 51 a1 61'), /must hold an array or map/],
    ['a Map holding an array', hex('d4 52 90'), /must hold a map/],
    ['a set whose payload has trailing bytes', hex('c7 02 51 90 01'), /follow the value/],
    ['a handle holding a set', hex('c7 03 54 d4 51 90'), /holds only scalars/],
    ['a handle holding a nested array', hex('c7 03 54 92 01 90'), /holds only scalars/],
    ['a handle without a type', hex('d5 54 91 01'), /a handle needs/],
    ['a callback reference of 0', hex('d4 56 00'), /positive integer index/],
    ['an empty bigint', hex('c7 00 50'), /could not be decoded|empty bigint/],
    ['an ndarray with an unknown dtype', hex('d6 53 63 01 08 00'), /unknown dtype code/],
    ['an ndarray whose header overruns it', hex('d6 53 00 05 08 00'), /does not fit its payload/],
    [
      'an ndarray of the wrong element count',
      hex('c7 10 53 09 01 08 00 03 00 00 00 00 00 00 00 00 00 00 00'),
      /of shape \[3\] has 1 elements/,
    ],
    ['a timestamp of 3 bytes', hex('c7 03 ff 00 00 00'), /a timestamp of 3 bytes/],
    ['a timestamp of 2^30 nanoseconds', hex('d7 ff ff ff ff fc 00 00 00 00'), /nanoseconds/],
    [
      'a timestamp beyond the range of a Date',
      hex('c7 0c ff 00 00 00 00 7f ff ff ff ff ff ff ff'),
      /range of a JavaScript Date/,
    ],
    ["msgpackr's own record extension", hex('d4 72 40'), /extension type 114 is not known/],
    ["msgpackr's own RegExp extension", hex('d4 78 00 92 a1 61 a0'), /extension type 120 is not known/],
    ['an unknown extension', hex('d4 07 00'), /extension type 7 is not known/],
    ['the never-used byte 0xc1', hex('c1'), /0xc1 is not a msgpack value/],
    ['bytes after the value', hex('01 02'), /follow the value/],
    ['no bytes', new Uint8Array(0), /no bytes to decode/],
  ])('refuses %s with a SerializationError saying what is wrong', (_what, bytes, message) => {
    const error = refusal(bytes);
    expect(SerializationError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

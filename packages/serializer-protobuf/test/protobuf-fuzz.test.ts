// Seeded fuzzing of the protobuf decoder (../../serializer-msgpack/test/fuzz-kit.ts):
// golden vectors mutated and random bytes decode or are refused with a
// SerializationError, as dynamic values and as the schema's responses, and
// reading a value takes no more steps than it has bytes. Also: nesting bombs,
// huge lengths, groups, and the nesting limit on both encode and decode.

import { readFileSync } from 'node:fs';
import { MAX_NESTING_DEPTH, SerializationError } from '@snakebridge/core';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { checkDecoded, concat, fuzz, fuzzTimeout } from '../../serializer-msgpack/test/fuzz-kit.js';
import { ProtobufSerializer } from '../src/index.js';
import { decodeState, readValue } from '../src/value-codec.js';
import { VECTOR_SCHEMA, VECTORS_DIR } from './generate-vectors.js';

interface Vector {
  readonly hex: string;
  readonly context?: { readonly target: string; readonly role: 'args' | 'result' };
}

const vectors = (JSON.parse(readFileSync(`${VECTORS_DIR}protobuf.json`, 'utf8')) as { vectors: Vector[] }).vectors;
const serializer = new ProtobufSerializer({ ...VECTOR_SCHEMA, baseDir: VECTORS_DIR });
const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));
/** The contexts the vectors are decoded in: results of callables with response messages. */
const contexts = [...new Set(vectors.flatMap((v) => (v.context?.role === 'result' ? [v.context.target] : [])))].map(
  (target) => ({ target, role: 'result' as const }),
);

/**
 * `count` list_values, each holding the next, around `leaf`: a nesting bomb.
 * Written from the inside out into one buffer, since each level's length
 * prefix depends on everything inside it.
 */
function nestedLists(count: number, leaf = hex('08 00')): Uint8Array {
  const sizes = [leaf.length];
  for (let i = 0; i < count; i++) {
    const item = 1 + varint(sizes[i] as number).length + (sizes[i] as number);
    sizes.push(1 + varint(item).length + item);
  }
  const out = new Uint8Array(sizes[count] as number);
  let at = out.length - leaf.length;
  out.set(leaf, at);
  for (let i = 0; i < count; i++) {
    // A list_value (field 8) holding a ListValue whose one item (field 1) is the value inside.
    const item = 1 + varint(sizes[i] as number).length + (sizes[i] as number);
    at = prefix(out, at, 0x0a, sizes[i] as number);
    at = prefix(out, at, 0x42, item);
  }
  return out;
}

/** Writes a tag and a length just before `at`; returns where they start. */
function prefix(out: Uint8Array, at: number, tag: number, length: number): number {
  const head = concat(Uint8Array.of(tag), varint(length));
  out.set(head, at - head.length);
  return at - head.length;
}

function varint(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = n; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) {
      bytes.push(rest);
      return Uint8Array.from(bytes);
    }
    bytes.push((rest % 128) | 0x80);
  }
}

/** The Value of a decode without a context, checked; typed errors of the contextual decodes are fine too. */
function decodeEveryWay(bytes: Uint8Array): unknown {
  for (const context of contexts) {
    try {
      serializer.decode(bytes, context);
    } catch (error) {
      if (!SerializationError.is(error)) throw error;
    }
  }
  return serializer.decode(bytes);
}

describe('protobuf decoder fuzzing', () => {
  it(
    'decodes or refuses with a SerializationError every mutated and random input, in steps within its size',
    () => {
      const report = fuzz({
        name: 'protobuf',
        corpus: [...vectors.map((vector) => hex(vector.hex)), nestedLists(MAX_NESTING_DEPTH)],
        decode(bytes) {
          const value = decodeEveryWay(bytes);
          checkDecoded(value, MAX_NESTING_DEPTH);
          const state = decodeState(undefined, undefined);
          try {
            readValue(new protobuf.Reader(bytes), bytes.length, state);
          } catch {
            // a message_value with no schema at hand; the steps counted up to there still count
          }
          return state.steps;
        },
        isTyped: (error) => SerializationError.is(error),
        workPerByte: 1,
        workSlack: 0,
      });
      expect(report.decoded).toBeGreaterThan(report.refused / 20);
    },
    fuzzTimeout(),
  );
});

describe('protobuf decoder limits', () => {
  it('refuses 100,000 nested lists with a SerializationError, not a stack overflow', () => {
    expect(() => serializer.decode(nestedLists(100_000))).toThrow(SerializationError);
    expect(() => serializer.decode(nestedLists(100_000))).toThrow(/nested more than 256 levels deep/);
  });

  it('decodes lists nested to the limit and refuses one level more', () => {
    let value: unknown = serializer.decode(nestedLists(MAX_NESTING_DEPTH));
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) value = (value as unknown[])[0];
    expect(value).toBeNull();
    expect(() => serializer.decode(nestedLists(MAX_NESTING_DEPTH + 1))).toThrow(/nested more than 256 levels deep/);
  });

  it('refuses to encode a value nested deeper than the limit, naming where', () => {
    let value: unknown = 'bottom';
    for (let i = 0; i <= MAX_NESTING_DEPTH; i++) value = i % 2 ? [value] : new Map([['k', value]]);
    expect(() => serializer.encode(value)).toThrow(/at .*: the value is nested more than 256 levels deep/);
  });

  it.each([
    ['a string of 2^32 - 1 bytes', hex('2a ff ff ff ff 0f 61')],
    ['a list of 2^31 bytes', hex('42 80 80 80 80 08 0a 02 08 00')],
    ['a varint of eleven bytes', hex('18 ff ff ff ff ff ff ff ff ff ff 01')],
    ['a double cut short', hex('21 00 00 00')],
    ['a group inside a list', hex('42 04 0b 0c 0a 00')],
    ['two kinds in one Value', hex('08 00 10 01')],
    ['an unknown kind', hex('f8 01 00')],
    ['a Value with no kind', hex('42 02 0a 00')],
    ['a string that is not UTF-8', hex('2a 02 c3 28')],
    ['an empty bigint', hex('3a 00')],
    ['a handle without an id', hex('72 00')],
    ['a Timestamp beyond the range of a Date', hex('62 0b 08 ff ff ff ff ff ff ff ff 7f')],
    ['an ndarray of an unknown dtype', hex('6a 05 0a 03 69 33 32')],
    ['an ndarray whose shape does not match its data', hex('6a 0e 0a 07 66 6c 6f 61 74 36 34 12 01 03 1a 00')],
    ['no bytes at all', new Uint8Array(0)],
  ])('refuses %s with a SerializationError', (_what, bytes) => {
    expect(() => serializer.decode(bytes)).toThrow(SerializationError);
  });

  it('decodes a bigint of 100,000 bytes, in time linear in its size', () => {
    const payload = new Uint8Array(100_000).fill(0x11);
    const value = concat(Uint8Array.of(0x3a), varint(payload.length), payload);
    expect(serializer.decode(value)).toBe(BigInt(`0x${'11'.repeat(100_000)}`));
  });
});

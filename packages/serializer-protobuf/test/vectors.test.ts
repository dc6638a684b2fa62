// The TypeScript side against the golden vectors shared with Python
// (vectors/serializers/protobuf.json), and those vectors against protobufjs's
// own reflection of snakebridge.proto: the hand-written codec must write what
// any protobuf library reads, and nothing else.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { buildValue, expectedBytes, type Notation, type SerializerVector } from '@snakebridge/vectors';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProtobufSerializer, SNAKEBRIDGE_PROTO } from '../src/index.js';
import { generate, VECTOR_SCHEMA, VECTORS_DIR } from './generate-vectors.js';

interface ProtobufVector extends SerializerVector {
  readonly context?: { readonly target: string; readonly role: 'args' | 'result' };
}

interface VectorFile {
  readonly schema: { readonly descriptorSet: string; readonly schemaHash: string };
  readonly vectors: ProtobufVector[];
}

const file = JSON.parse(readFileSync(`${VECTORS_DIR}protobuf.json`, 'utf8')) as VectorFile;
const { vectors } = file;
const serializer = new ProtobufSerializer({ ...VECTOR_SCHEMA, baseDir: VECTORS_DIR });
const dynamic = vectors.filter((v) => v.context === undefined);
const named = (list: ProtobufVector[]) => list.map((v) => [v.name, v] as const);

describe('protobuf golden vectors', () => {
  it('cover every kind of value, and schema requests and responses', () => {
    const kinds = new Set(dynamic.map((v) => Object.keys(v.value)[0]));
    for (const kind of ['null', 'bool', 'int', 'bigint', 'float', 'str', 'bytes', 'list', 'dict', 'map', 'set']) {
      expect(kinds).toContain(kind);
    }
    for (const kind of ['date', 'ndarray', 'handle', 'tuple']) expect(kinds).toContain(kind);
    expect(vectors.filter((v) => v.context?.role === 'args').length).toBeGreaterThanOrEqual(1);
    expect(vectors.filter((v) => v.context?.role === 'result').length).toBeGreaterThanOrEqual(2);
  });

  it('were made from the current .proto files (the descriptor set Python reads is up to date)', () => {
    expect(file.schema.descriptorSet).toBe(serializer.pythonOptions.descriptor_set);
    expect(file.schema.schemaHash).toBe(serializer.schemaHash);
  });

  it('are what the generator writes today, hand-written bytes included', () => {
    expect(JSON.parse(JSON.stringify(generate()))).toEqual(file);
  });

  it.each(named(vectors))('decodes %s', (_name, vector) => {
    const context = vector.context && { target: vector.context.target, role: vector.context.role };
    expect(serializer.decode(expectedBytes(vector), context)).toStrictEqual(
      buildValue((vector.decoded ?? vector.value) as Notation),
    );
  });

  it.each(named(vectors.filter((v) => v.encode.includes('ts'))))(
    'encodes %s to the expected bytes',
    (_name, vector) => {
      const context = vector.context && { target: vector.context.target, role: vector.context.role };
      expect(Buffer.from(serializer.encode(buildValue(vector.value), context)).toString('hex')).toBe(vector.hex);
    },
  );
});

describe('protobuf golden vectors against protobufjs reflection', () => {
  let Value: protobuf.Type;
  beforeAll(() => {
    // Reflection reads 64-bit integers exactly only with long.js, which protobufjs cannot
    // always load itself (not under Vitest): hand it over, from protobufjs's own dependencies.
    if (typeof protobuf.util.Long !== 'function') {
      const fromProtobufjs = createRequire(createRequire(import.meta.url).resolve('protobufjs'));
      const long = fromProtobufjs('long') as { default?: unknown };
      protobuf.util.Long = (long.default ?? long) as typeof protobuf.util.Long;
      protobuf.configure();
    }
    // Reflection stops at 100 nested messages by default; the deep nesting vector has more.
    (protobuf.Reader as unknown as { recursionLimit: number }).recursionLimit = 1000;
    (protobuf.util as unknown as { recursionLimit: number }).recursionLimit = 1000;
    Value = protobuf.parse(SNAKEBRIDGE_PROTO, { keepCase: true }).root.lookupType('snakebridge.Value');
  });

  it.each(named(vectors))('%s is a canonical snakebridge.Value', (_name, vector) => {
    const bytes = expectedBytes(vector);
    const message = Value.decode(bytes);
    expect(Value.verify(message)).toBeNull();
    expect(Buffer.from(Value.encode(message).finish()).toString('hex')).toBe(vector.hex);
  });
});

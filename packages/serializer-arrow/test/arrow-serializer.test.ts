// The Arrow serializer on its own: Arrow values anywhere in a value, what is
// copied and what is not, the payload format, forms, refusals, offloading.

import { CallbackRef, ConfigError, HandleRef, SerializationError, SerializerWireId } from '@snakebridge/core';
import { createMsgpackSerializer, MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import {
  Binary,
  Bool,
  DateDay,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int8,
  Int32,
  Int64,
  LargeUtf8,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ARROW_EXT_TYPE, createArrowSerializer, tableAs } from '../src/index.js';
import { writeStream } from '../src/ipc.js';
import { decodePayload, joinedPayload, PayloadKind } from '../src/payload.js';
import { arrowContents } from './notation.js';

const arrow = createArrowSerializer();
const roundTrip = <T>(value: T): T => arrow.decode(arrow.encode(value)) as T;

function sampleTable(rows = 5): Table {
  return new Table({
    id: vectorFromArray(
      Array.from({ length: rows }, (_, i) => BigInt(i)),
      new Int64(),
    ),
    score: vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? null : i / 4)),
      new Float64(),
    ),
    label: vectorFromArray(
      Array.from({ length: rows }, (_, i) => (i % 2 === 0 ? null : `row ${i}`)),
      new Utf8(),
    ),
    ok: vectorFromArray(
      Array.from({ length: rows }, (_, i) => i % 2 === 0),
      new Bool(),
    ),
  });
}

function bigTable(rows: number): Table {
  return new Table({
    id: vectorFromArray(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i))),
    x: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i / 7)),
    n: vectorFromArray(Int32Array.from({ length: rows }, (_, i) => rows - i)),
  });
}

/** True if column `name` holds the same elements, byte for byte, in both tables (no diff of a million values on failure). */
function sameElements(a: Table, b: Table, name: string): boolean {
  const bytes = (t: Table) => {
    const values = t.getChild(name)?.toArray() as ArrayBufferView;
    return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  };
  return bytes(a).equals(bytes(b));
}

/** The msgpack serializer with the Arrow extension as the hook alone would write it: the reference for the bytes. */
function throughTheHookAlone(): MsgpackSerializer {
  return createMsgpackSerializer({
    extensions: [
      {
        type: ARROW_EXT_TYPE,
        kind: 'arrowTable',
        accepts: (value) => value instanceof Table || value instanceof RecordBatch,
        encode: (value) => {
          const kind = value instanceof Table ? PayloadKind.table : PayloadKind.recordBatch;
          return joinedPayload(kind, 0, writeStream(value as Table | RecordBatch));
        },
        decode: decodePayload,
      },
    ],
  });
}

/** Where the first Arrow extension's payload starts in a message, and its length. */
function firstArrowPayload(message: Uint8Array): { start: number; length: number } {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  for (let at = 0; at < bytes.length - 6; at++) {
    const code = bytes[at];
    if (code === 0xc7 && bytes[at + 2] === ARROW_EXT_TYPE) return { start: at + 3, length: bytes[at + 1] as number };
    if (code === 0xc8 && bytes[at + 3] === ARROW_EXT_TYPE) return { start: at + 4, length: bytes.readUInt16BE(at + 1) };
    if (code === 0xc9 && bytes[at + 5] === ARROW_EXT_TYPE) return { start: at + 6, length: bytes.readUInt32BE(at + 1) };
  }
  throw new Error('no Arrow extension in the message');
}

describe('the Arrow serializer', () => {
  it('is serializer 3, "arrow", carrying what msgpack carries and Arrow tables', () => {
    expect(arrow.id).toBe('arrow');
    expect(arrow.wireId).toBe(SerializerWireId.arrow);
    expect(arrow.wireId).toBe(3);
    expect(arrow.contentType).toBe('application/vnd.snakebridge.arrow+msgpack');
    expect(arrow.supports).toEqual(new Set([...new MsgpackSerializer().supports, 'arrowTable']));
  });

  it('tells the Python side its options in the handshake', () => {
    expect(arrow.pythonOptions).toEqual({ tables_as: 'pyarrow', pandas_index: 'auto' });
    expect(createArrowSerializer({ tablesAs: 'pandas', pandasIndex: 'drop' }).pythonOptions).toEqual({
      tables_as: 'pandas',
      pandas_index: 'drop',
    });
  });

  it('refuses options it does not know with a ConfigError naming the field and the allowed values', () => {
    const error = (() => {
      try {
        createArrowSerializer({ tablesAs: 'excel' as never, pandasIndex: 'sometimes' as never });
      } catch (caught) {
        return caught;
      }
    })();
    expect(ConfigError.is(error)).toBe(true);
    expect((error as ConfigError).issues.map((issue) => [issue.field, issue.allowed])).toEqual([
      ['arrow.tablesAs', ['pyarrow', 'pandas', 'polars', 'numpy']],
      ['arrow.pandasIndex', ['auto', 'column', 'drop']],
    ]);
  });
});

describe('Arrow values', () => {
  it('round-trips a table with its schema, nulls and values', () => {
    const table = sampleTable(7);
    const back = roundTrip(table);
    expect(back).toBeInstanceOf(Table);
    expect(arrowContents(back)).toStrictEqual(arrowContents(table));
    expect(back.getChild('score')?.nullCount).toBe(3);
    expect(back.schema.fields.map((field) => [field.name, String(field.type), field.nullable])).toEqual([
      ['id', 'Int64', true],
      ['score', 'Float64', true],
      ['label', 'Utf8', true],
      ['ok', 'Bool', true],
    ]);
  });

  it('round-trips many column types', () => {
    const table = new Table({
      i8: vectorFromArray([1, null, -3], new Int8()),
      u64: vectorFromArray([0n, 2n ** 64n - 1n, null], new Uint64()),
      f32: vectorFromArray([1.5, null, -0.25], new Float32()),
      when: vectorFromArray([0, 1_700_000_000_000, null], new TimestampMillisecond()),
      day: vectorFromArray([new Date(0), new Date(Date.UTC(2024, 1, 29)), null], new DateDay()),
      blob: vectorFromArray([new Uint8Array([0, 255]), null, new Uint8Array()], new Binary()),
      big: vectorFromArray(['x', null, 'z'], new LargeUtf8()),
      tags: vectorFromArray([['a'], null, []], new List(new Field('item', new Utf8(), true))),
      point: vectorFromArray(
        [{ x: 1, y: 2 }, null, { x: 3, y: null }],
        new Struct([new Field('x', new Int32(), true), new Field('y', new Int32(), true)]),
      ),
      color: vectorFromArray(['red', 'blue', 'red'], new Dictionary(new Utf8(), new Int32())),
    });
    const back = roundTrip(table);
    expect(back.schema.fields.map((field) => String(field.type))).toEqual(
      table.schema.fields.map((field) => String(field.type)),
    );
    const rows = (t: Table) =>
      JSON.stringify(
        t.toArray().map((row) => row.toJSON()),
        (_key, value) => (typeof value === 'bigint' ? `${value}n` : value instanceof Uint8Array ? [...value] : value),
      );
    expect(rows(back)).toBe(rows(table));
  });

  it('keeps schema and field metadata', () => {
    const schema = new Schema(
      [new Field('x', new Float64(), true, new Map([['unit', 'm/s']]))],
      new Map([['source', 'sensor 7']]),
    );
    const plain = new Table({ x: vectorFromArray([1, 2], new Float64()) });
    const table = new Table([new RecordBatch(schema, (plain.batches[0] as RecordBatch).data)]);
    const back = roundTrip(table);
    expect(back.schema.metadata).toEqual(new Map([['source', 'sensor 7']]));
    expect(back.schema.fields[0]?.metadata).toEqual(new Map([['unit', 'm/s']]));
    expect([...(back.getChild('x') ?? [])]).toEqual([1, 2]);
  });

  it('returns a record batch as a RecordBatch', () => {
    const batch = sampleTable(4).batches[0] as RecordBatch;
    const back = roundTrip(batch);
    expect(back).toBeInstanceOf(RecordBatch);
    expect(arrowContents(back)).toStrictEqual(arrowContents(batch));
  });

  it('keeps the schema of a table without rows', () => {
    const empty = sampleTable(0);
    const back = roundTrip(empty);
    expect(back.numRows).toBe(0);
    expect(back.schema.fields.map((field) => `${field.name}: ${field.type}`)).toEqual([
      'id: Int64',
      'score: Float64',
      'label: Utf8',
      'ok: Bool',
    ]);
  });

  it('round-trips a table without columns', () => {
    const [table, text] = roundTrip<[Table, string]>([new Table({}), 'x'.repeat(300)]);
    expect(table).toBeInstanceOf(Table);
    expect([table.numCols, table.numRows]).toEqual([0, 0]);
    expect(text).toHaveLength(300);
  });

  it('keeps the batches of a table of several', () => {
    const table = sampleTable(3).concat(sampleTable(4), sampleTable(2));
    const back = roundTrip(table);
    expect(back.batches.map((batch) => batch.numRows)).toEqual([3, 4, 2]);
    expect(arrowContents(back)).toStrictEqual(arrowContents(table));
  });

  it('round-trips a table of 1,000,000 rows', () => {
    const table = bigTable(1_000_000);
    const back = roundTrip(table);
    expect(back.numRows).toBe(1_000_000);
    for (const name of ['id', 'x', 'n']) expect(sameElements(back, table, name)).toBe(true);
  });

  it('carries tables anywhere in a value, beside plain data', () => {
    const table = sampleTable(3);
    const batch = sampleTable(2).batches[0] as RecordBatch;
    const value = [[1, { frame: table, note: 'n' }, [batch, batch]], { limit: 10, other: table }];
    expect(arrowContents(roundTrip(value))).toStrictEqual(arrowContents(value));
  });

  it('carries tables inside Maps and Sets, whose payloads hold them whole', () => {
    const table = sampleTable(3);
    const value = { map: new Map<unknown, unknown>([[1, table]]), set: new Set([table]), after: sampleTable(2) };
    const back = roundTrip(value);
    expect(arrowContents(back.map)).toStrictEqual(arrowContents(value.map));
    expect([...back.set].map(arrowContents)).toStrictEqual([arrowContents(table)]);
    expect(arrowContents(back.after)).toStrictEqual(arrowContents(value.after));
  });

  it('writes exactly the bytes the msgpack hook alone would write, with each stream copied once', () => {
    const reference = throughTheHookAlone();
    const table = sampleTable(6);
    for (const value of [
      table,
      [[table, 'label', 42], {}],
      { a: table, b: [sampleTable(0), sampleTable(2).batches[0]], c: 'x'.repeat(300) },
      [bigTable(20_000), 1.5, bigTable(3)],
    ]) {
      const bytes = Buffer.from(arrow.encode(value));
      expect(bytes.equals(Buffer.from(reference.encode(value)))).toBe(true);
    }
  });

  it('encodes everything else exactly as the msgpack serializer does', () => {
    const value = { a: [1, 2.5, null, 'x', new Uint8Array([0])], b: new Set([1]), n: 2n ** 70n, d: new Date(5) };
    expect(Buffer.from(arrow.encode(value))).toEqual(Buffer.from(new MsgpackSerializer().encode(value)));
  });

  it('reports handles beside tables and decodes them through the context', () => {
    const ref = new HandleRef({ id: 4, type: 'pkg.Model' });
    const seen: HandleRef[] = [];
    const bytes = arrow.encode([sampleTable(1), ref], { onHandle: (handle) => seen.push(handle) });
    expect(seen).toEqual([ref]);
    const [table, model] = arrow.decode(bytes, { handle: (wire) => `proxy ${wire.id}` }) as [Table, string];
    expect(table.numRows).toBe(1);
    expect(model).toBe('proxy 4');
  });

  it('writes the stream 8-aligned within its payload, for Python, which receives the payload on its own', () => {
    for (const prefix of ['', 'x', 'abc', 'a'.repeat(37)]) {
      const message = arrow.encode([prefix, sampleTable(3)]);
      const { start, length } = firstArrowPayload(message);
      const payload = message.subarray(start, start + length);
      expect([...payload.subarray(0, 4)]).toEqual([0, 0, 8, 0]);
      expect([...payload.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
      expect(Buffer.from(payload.subarray(8, 12)).toString('hex')).toBe('ffffffff');
    }
  });

  it('copies nothing it decodes when the stream is 8-aligned in its buffer, and copies a misaligned one', () => {
    const table = bigTable(1000);
    const bytes = arrow.encode(table);
    const stream = firstArrowPayload(bytes).start + 8;
    /** The message copied to where its stream lands `misalignment` bytes past a multiple of 8. */
    const placed = (misalignment: number) => {
      const shift = (8 - (stream % 8) + misalignment) % 8;
      const copy = new Uint8Array(new ArrayBuffer(bytes.byteLength + 8), shift, bytes.byteLength);
      copy.set(bytes);
      return copy;
    };
    const aligned = placed(0);
    const misaligned = placed(3);
    const inPlace = arrow.decode(aligned) as Table;
    const copied = arrow.decode(misaligned) as Table;
    for (const name of ['id', 'x', 'n']) {
      expect(inPlace.getChild(name)?.data[0]?.values.buffer === aligned.buffer).toBe(true);
      expect(copied.getChild(name)?.data[0]?.values.buffer === misaligned.buffer).toBe(false);
    }
    expect(arrowContents(inPlace)).toStrictEqual(arrowContents(table));
    expect(arrowContents(copied)).toStrictEqual(arrowContents(table));
  });
});

describe('tableAs', () => {
  it('writes the form Python should receive in the payload, and reads back a plain table here', () => {
    const table = sampleTable(2);
    for (const [form, code] of [
      ['pyarrow', 1],
      ['pandas', 2],
      ['polars', 3],
      ['numpy', 4],
    ] as const) {
      const message = arrow.encode([tableAs(table, form)]);
      const { start } = firstArrowPayload(message);
      expect(message[start + 1]).toBe(code);
      const [back] = arrow.decode(message) as [Table];
      expect(arrowContents(back)).toStrictEqual(arrowContents(table));
    }
  });

  it('takes only Arrow values and known forms', () => {
    expect(() => tableAs([1, 2] as never, 'pandas')).toThrow(/takes an apache-arrow Table or RecordBatch/);
    expect(() => tableAs(sampleTable(1), 'excel' as never)).toThrow(/form must be one of pyarrow, pandas/);
  });
});

describe('callbacks', () => {
  it('writes a function in call arguments as the callback reference the invoker chose, beside a table', () => {
    const bytes = arrow.encode([[sampleTable(1), () => 1], {}], { role: 'args', onFunction: () => 5 });
    const [[table, callback]] = arrow.decode(bytes) as [[Table, CallbackRef]];
    expect(table.numRows).toBe(1);
    expect(callback).toEqual(new CallbackRef(5));
  });
});

describe('refusals', () => {
  it('refuses a function beside a table under its own name, naming the path', () => {
    const error = (() => {
      try {
        arrow.encode({ args: [sampleTable(1), { callback: () => 1 }] });
      } catch (caught) {
        return caught as SerializationError;
      }
    })();
    expect(SerializationError.is(error)).toBe(true);
    expect(error?.serializer).toBe('arrow');
    expect(error?.path).toBe('args[1].callback');
    expect(error?.message).toMatch(
      /^\[arrow\] at args\[1\]\.callback: a function can be passed to Python only as a callback/,
    );
  });

  it('refuses an object that only claims to be a Table with a SerializationError naming its path', () => {
    class Impostor {
      readonly schema = {};
      readonly batches = [];
    }
    const impostor = Object.assign(new Impostor(), { [Symbol.for('apache-arrow/Table')]: true });
    expect(() => arrow.encode({ rows: [impostor] })).toThrow(
      /^\[arrow\] at rows\[0\]: extension type 85 could not encode the value/,
    );
  });

  it.each([
    ['a header cut short', [0x00, 0x00]],
    ['an unknown kind', [0x07, 0x00, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff]],
    ['an offset beyond the payload', [0x00, 0x00, 0xf0, 0x00]],
    ['bytes that are no Arrow stream', [0x00, 0x00, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2, 3, 4]],
  ])('refuses a payload with %s', (_what, payload) => {
    const bytes = Uint8Array.from([0xc7, payload.length, ARROW_EXT_TYPE, ...payload]);
    expect(() => arrow.decode(bytes)).toThrow(SerializationError);
    expect(() => arrow.decode(bytes)).toThrow(/^\[arrow\] extension type 85 could not decode its payload/);
  });

  it('refuses bytes that are not msgpack under its own name', () => {
    expect(() => arrow.decode(new Uint8Array([0xc1]))).toThrow(/^\[arrow\] /);
  });
});

describe('offloading to worker threads', () => {
  it('keeps a payload holding a table on the main thread, and the table a Table', async () => {
    const { PayloadOffloader } = await import('@snakebridge/offload');
    const offload = new PayloadOffloader({ serializer: arrow, thresholdBytes: 1, threads: 1 });
    try {
      expect(offload.encode([bigTable(10)])).toBeInstanceOf(Uint8Array); // not a promise: encoded right here
      const decoded = (await offload.decode(arrow.encode([bigTable(10_000)]))) as unknown[];
      expect(decoded[0]).toBeInstanceOf(Table);
    } finally {
      await offload.close();
    }
  });

  it('stays on the main thread: binary passes through it, so a thread would only add copies', async () => {
    const { PayloadOffloader } = await import('@snakebridge/offload');
    const serializer = createArrowSerializer({ tablesAs: 'pandas' });
    const offload = new PayloadOffloader({ serializer, thresholdBytes: 1024, threads: 1 });
    try {
      expect(offload.enabled).toBe(false);
      expect(offload.encode({ samples: new Float64Array(50_000) })).toBeInstanceOf(Uint8Array);
    } finally {
      await offload.close();
    }
  });

  it('can be rebuilt from its recipe, for threads, giving the same bytes', async () => {
    const serializer = createArrowSerializer({ tablesAs: 'pandas' });
    const recipe = serializer.recipe as NonNullable<typeof serializer.recipe>;
    const module = (await import(recipe.module)) as Record<string, (options: unknown) => typeof serializer>;
    const rebuilt = module[recipe.factory]?.(recipe.options);
    const value = { rows: [{ id: 1, name: 'one' }], when: new Date(0), big: 2n ** 70n };
    expect(Buffer.from(rebuilt?.encode(value) ?? [])).toEqual(Buffer.from(serializer.encode(value)));
  });
});

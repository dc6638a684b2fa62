// Seeded fuzzing of the Arrow decoder (../../serializer-msgpack/test/fuzz-kit.ts),
// and the regression it started from: a golden vector with one byte changed
// made apache-arrow spend half a minute building four billion schema fields
// before the heap ran out. Two suites: whole messages through the serializer,
// and bare IPC streams through the check (ipc-check.ts) and apache-arrow, where
// a stream the check passes must decode, and every value of it be readable.

import { MAX_NESTING_DEPTH, SerializationError } from '@snakebridge/core';
import { createMsgpackSerializer, MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { expectedBytes, loadVectors } from '@snakebridge/vectors';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { checkDecoded, concat, fuzz, fuzzTimeout, nested } from '../../serializer-msgpack/test/fuzz-kit.js';
import { Budget, Flatbuffer } from '../src/flatbuffer.js';
import { ARROW_EXT_TYPE, createArrowSerializer } from '../src/index.js';
import { writeStream } from '../src/ipc.js';
import { ARROW_MAX_NESTING, checkArrowStream, InvalidArrow } from '../src/ipc-check.js';

const serializer = createArrowSerializer();
const vectors = loadVectors('serializers/arrow.json');
const field = (name: string, type: arrow.DataType) => new arrow.Field(name, type, true);

/** The IPC streams inside a message: the payloads of its extension 85 values, past their header. */
function streamsIn(message: Uint8Array): Uint8Array[] {
  const streams: Uint8Array[] = [];
  const collector = createMsgpackSerializer({
    extensions: [
      {
        type: ARROW_EXT_TYPE,
        accepts: () => false,
        encode: () => new Uint8Array(),
        decode: (payload) => {
          const offset = (payload[2] as number) | ((payload[3] as number) << 8);
          streams.push(payload.slice(offset));
          return null;
        },
      },
    ],
  });
  collector.decode(message);
  return streams;
}

function joined(table: arrow.Table | arrow.RecordBatch): Uint8Array {
  return concat(...writeStream(table).chunks);
}

/** A table of every type apache-arrow writes, each column with a null. */
function richTable(): arrow.Table {
  const union = (type: arrow.DenseUnion | arrow.SparseUnion) => {
    // makeBuilder makes the child builders too; valueToChildTypeId is an option of union builders only.
    const pick = (_builder: unknown, value: unknown) => (typeof value === 'number' ? 0 : 1);
    const builder = arrow.makeBuilder({ type, valueToChildTypeId: pick } as Parameters<typeof arrow.makeBuilder>[0]);
    for (const value of [1, 'a', 2]) builder.append(value);
    return builder.finish().toVector();
  };
  const unionFields = () => [field('i', new arrow.Int32()), field('s', new arrow.Utf8())];
  const entries = new arrow.Struct([
    new arrow.Field('key', new arrow.Utf8(), false),
    field('value', new arrow.Int32()),
  ]);
  const columns: [string, arrow.DataType, unknown[]][] = [
    ['null', new arrow.Null(), [null, null, null]],
    ['bool', new arrow.Bool(), [true, null, false]],
    ['i8', new arrow.Int8(), [1, null, -3]],
    ['u64', new arrow.Uint64(), [1n, null, 3n]],
    ['f16', new arrow.Float16(), [1.5, null, 2]],
    ['dec', new arrow.Decimal(2, 10, 128), [null, null, null]],
    ['day', new arrow.DateDay(), [new Date(0), null, new Date(86_400_000)]],
    ['ts', new arrow.TimestampMillisecond('UTC'), [0, null, 1000]],
    ['time', new arrow.TimeMicrosecond(), [1n, null, 2n]],
    ['interval', new arrow.IntervalDayTime(), [null, null, null]],
    ['duration', new arrow.DurationSecond(), [1n, null, 2n]],
    ['fsb', new arrow.FixedSizeBinary(3), [Uint8Array.of(1, 2, 3), null, Uint8Array.of(4, 5, 6)]],
    ['bin', new arrow.Binary(), [Uint8Array.of(1), null, Uint8Array.of()]],
    ['large', new arrow.LargeUtf8(), ['a', null, 'ccc']],
    ['list', new arrow.List(field('item', new arrow.Int32())), [[1, 2], null, []]],
    ['largeList', new arrow.LargeList(field('item', new arrow.Int32())), [[1], null, [2, 3]]],
    ['fsl', new arrow.FixedSizeList(2, field('item', new arrow.Float64())), [[1, 2], null, [3, 4]]],
    ['struct', new arrow.Struct(unionFields()), [{ i: 1, s: 'a' }, null, { i: 2, s: null }]],
    ['map', new arrow.Map_(new arrow.Field('entries', entries, false)), [new Map([['a', 1]]), null, new Map()]],
    ['dict', new arrow.Dictionary(new arrow.Utf8(), new arrow.Int8()), ['red', null, 'blue']],
    ['view', new arrow.Utf8View(), ['short', null, 'a string longer than twelve bytes']],
  ];
  return new arrow.Table({
    ...Object.fromEntries(columns.map(([name, type, values]) => [name, arrow.vectorFromArray(values, type)])),
    dense: union(new arrow.DenseUnion([0, 1], unionFields())),
    sparse: union(new arrow.SparseUnion([0, 1], unionFields())),
  });
}

/** Streams written by both sides: pyarrow's from the golden vectors, apache-arrow's of every type. */
function streamCorpus(): Uint8Array[] {
  const fromVectors = vectors.flatMap((vector) => streamsIn(expectedBytes(vector)));
  const rich = richTable();
  const twoBatches = new arrow.Table([...rich.batches, ...rich.slice(1).batches]);
  return [...fromVectors, joined(rich), joined(twoBatches), joined(rich.slice(0, 0))];
}

function messageCorpus(): Uint8Array[] {
  return [...vectors.map(expectedBytes), serializer.encode({ rich: richTable(), n: [1, 'x'] })];
}

/**
 * Reads every value of every column, as a caller would next. apache-arrow
 * refuses to turn an int64 beyond 2^53 into a number (a timestamp in
 * milliseconds, say): that is about the value, which any writer may send, not
 * about its layout, so that one error is let through.
 */
function readAll(table: arrow.Table): void {
  for (const column of table.schema.fields.map((_f, i) => table.getChildAt(i))) {
    for (let i = 0; i < (column?.length ?? 0); i++) {
      try {
        column?.get(i);
      } catch (error) {
        if (!(error instanceof TypeError && /is not safe to convert to a number/.test(error.message))) throw error;
      }
    }
  }
}

const isArrowValue = (value: object): boolean => arrow.isArrowTable(value) || arrow.isArrowRecordBatch(value);

describe('Arrow decoder fuzzing', () => {
  it(
    'decodes or refuses with a SerializationError every mutated and random message, its envelope within budget',
    () => {
      const envelope = new MsgpackSerializer({
        extensions: [
          { type: ARROW_EXT_TYPE, accepts: () => false, encode: () => new Uint8Array(), decode: () => null },
        ],
      });
      fuzz({
        name: 'arrow message',
        corpus: messageCorpus(),
        decode(bytes) {
          const value = serializer.decode(bytes);
          checkDecoded(value, MAX_NESTING_DEPTH, isArrowValue);
          envelope.decode(bytes); // the same envelope without reading the tables: it must accept it too
          return undefined;
        },
        isTyped: (error) => SerializationError.is(error),
      });
    },
    fuzzTimeout(),
  );

  it(
    'passes only streams apache-arrow decodes and reads in full, checking each in work linear in its size',
    () => {
      const report = fuzz({
        name: 'arrow stream',
        corpus: streamCorpus(),
        decode(bytes) {
          const { work } = checkArrowStream(bytes);
          readAll(arrow.tableFromIPC(bytes));
          return work;
        },
        isTyped: (error) => error instanceof InvalidArrow,
        workPerByte: 16,
        workSlack: 4096,
      });
      expect(report.decoded).toBeGreaterThan(report.refused / 50);
    },
    fuzzTimeout(),
  );
});

describe('Arrow decoder regressions', () => {
  /** The stream of golden vector `index` with the byte at `at` (within the stream) set to `value`. */
  function corrupted(index: number, at: number, value: number): Uint8Array {
    const bytes = expectedBytes(vectors[index] as (typeof vectors)[number]).slice();
    const stream = streamsIn(bytes)[0] as Uint8Array;
    const streamStart = bytes.length - stream.length;
    bytes[streamStart + at] = value;
    return bytes;
  }

  it('refuses the golden table with its field count corrupted at once, where apache-arrow ran out of heap', () => {
    // Vector 0 (pyarrow's table): byte 62 of the message is the high byte of the schema's field count.
    const bytes = expectedBytes(vectors[0] as (typeof vectors)[number]).slice();
    bytes[62] = 0xff;
    expect(() => serializer.decode(bytes)).toThrow(SerializationError);
    expect(() => serializer.decode(bytes)).toThrow(
      /schema fields has 4278190084 elements|more than the metadata has room for/,
    );
  });

  it('refuses every single-byte corruption of the golden tables in work linear in their size', () => {
    for (const index of [0, 1, 2, 3]) {
      const length = streamsIn(expectedBytes(vectors[index] as (typeof vectors)[number]))[0]?.length ?? 0;
      for (let at = 0; at < length; at++) {
        for (const value of [0x00, 0x7f, 0x80, 0xff]) {
          const bytes = corrupted(index, at, value);
          try {
            serializer.decode(bytes);
          } catch (error) {
            expect(SerializationError.is(error), `vector ${index}, byte ${at} = ${value}: ${error}`).toBe(true);
          }
        }
      }
    }
  });

  it('refuses a column longer than its batch before apache-arrow sizes a null bitmap from it', () => {
    // A null column has no buffers, so only the length check stands between it and the backfill.
    const stream = joined(new arrow.Table({ x: arrow.vectorFromArray([null, null, null], new arrow.Null()) }));
    const node = firstNode(stream);
    new DataView(stream.buffer, stream.byteOffset).setBigInt64(node, 2n ** 31n - 1n, true);
    expect(() => checkArrowStream(stream)).toThrow(/column x has 2147483647 values in a batch of 3/);
  });

  it('refuses a compressed batch rather than trust its declared decompressed sizes', () => {
    // An LZ4 frame header before the bytes themselves: enough for apache-arrow to write a compressed body.
    const frame = Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0xc0);
    const codec = { encode: (data: Uint8Array) => concat(frame, data), decode: (data: Uint8Array) => data.slice(7) };
    arrow.compressionRegistry.set(arrow.CompressionType.LZ4_FRAME, codec);
    try {
      const table = new arrow.Table({ x: arrow.vectorFromArray([1, 2, 3], new arrow.Int32()) });
      const stream = arrow.tableToIPC(table, 'stream', arrow.CompressionType.LZ4_FRAME);
      expect(() => checkArrowStream(stream)).toThrow(/compressed/);
    } finally {
      arrow.compressionRegistry.set(arrow.CompressionType.LZ4_FRAME, {});
    }
  });

  it(`accepts types nested ${ARROW_MAX_NESTING} deep and refuses one level more, on encode and decode`, () => {
    const deep = (levels: number): arrow.Table => {
      let data: arrow.Data = arrow.makeData({ type: new arrow.Int32(), length: 0, nullCount: 0 });
      for (let i = 1; i < levels; i++) {
        const type = new arrow.List(field('item', data.type));
        data = arrow.makeData({ type, length: 0, nullCount: 0, valueOffsets: Int32Array.of(0), child: data });
      }
      return new arrow.Table({ x: arrow.makeVector(data) });
    };
    expect(checkArrowStream(joined(deep(ARROW_MAX_NESTING))).batches).toBe(1);
    const tooDeep = deep(ARROW_MAX_NESTING + 1);
    expect(() => checkArrowStream(concat(...writeUnchecked(tooDeep)))).toThrow(/nested more than 64 deep/);
    expect(() => serializer.encode([tooDeep])).toThrow(/nested 65 deep, more than 64/);
  });

  it('refuses 100,000 nested arrays around a table with a SerializationError, not a stack overflow', () => {
    const table = expectedBytes(vectors[0] as (typeof vectors)[number]);
    const bytes = nested(Uint8Array.of(0x91), table, new Uint8Array(0), 100_000);
    expect(() => serializer.decode(bytes)).toThrow(SerializationError);
  });

  it('refuses streams that are cut short, have bytes after their end, or carry no schema', () => {
    const stream = joined(new arrow.Table({ x: arrow.vectorFromArray([1, 2, 3], new arrow.Int32()) }));
    expect(() => checkArrowStream(stream.subarray(0, stream.length - 12))).toThrow(InvalidArrow);
    expect(() => checkArrowStream(concat(stream, Uint8Array.of(0)))).toThrow(/follow the end-of-stream marker/);
    expect(() => checkArrowStream(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0))).toThrow(/no schema/);
    expect(() => checkArrowStream(new TextEncoder().encode('ARROW1\0\0'))).toThrow(/continuation marker/);
  });
});

/** The stream apache-arrow writes for `table`, which writeStream would refuse to write. */
function writeUnchecked(table: arrow.Table): Uint8Array[] {
  return [arrow.tableToIPC(table, 'stream')];
}

/** Where the first field node's length is in a stream of a schema and one batch (found with the checked reader). */
function firstNode(stream: Uint8Array): number {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const schemaEnd = 8 + view.getInt32(4, true);
  const metadata = stream.subarray(schemaEnd + 8, schemaEnd + 8 + view.getInt32(schemaEnd + 4, true));
  const batch = new Flatbuffer(metadata, new Budget(1e6)).root().table(2, 'the batch');
  const nodes = batch?.vector(1, 16, 'the nodes');
  if (nodes === undefined) throw new Error('no nodes');
  return schemaEnd + 8 + nodes.start;
}

// The Arrow serializer end to end: real Python workers through the stdio
// invoker, with the worker started for arrow (pyarrow, pandas in the .venv).

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { StdioInvoker } from '@snakebridge/adapter-stdio';
import { type Bridge, type Call, createBridge, resolveConfig, silentLogger } from '@snakebridge/core';
import { describeInvokerContract } from '@snakebridge/core/testing';
import { Float64, Int64, RecordBatch, Table, Utf8, type Vector, vectorFromArray } from 'apache-arrow';
import * as vitest from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArrowSerializerOptions, createArrowSerializer, tableAs } from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

function arrowInvoker(options: ArrowSerializerOptions = {}): StdioInvoker {
  const config = resolveConfig(
    { serializer: 'arrow', python: { path: [FIXTURES] }, pool: { min: 1, max: 1 } },
    { env: {} },
  );
  return new StdioInvoker({ config, serializer: createArrowSerializer(options), logger: silentLogger });
}

const fixture = (name: string, args: unknown[] = [], kwargs?: Record<string, unknown>): Call => ({
  op: 'call',
  target: `arrow_fixture.${name}`,
  args,
  kwargs,
});

/** id = i, x = i / 7, label = `row ${i % 1000}`: what arrow_fixture.check_big expects. */
function bigTable(rows: number): Table {
  return new Table({
    id: vectorFromArray(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i))),
    x: vectorFromArray(Float64Array.from({ length: rows }, (_, i) => i / 7)),
    label: vectorFromArray(
      Array.from({ length: rows }, (_, i) => `row ${i % 1000}`),
      new Utf8(),
    ),
  });
}

function smallTable(): Table {
  return new Table({
    x: vectorFromArray([1.5, null, 4], new Float64()),
    n: vectorFromArray([1n, 2n, null], new Int64()),
    s: vectorFromArray(['a', 'b', null], new Utf8()),
  });
}

/** A column's values, to compare without a diff of a million values: typed array bytes, or strings joined. */
function columnValues(table: Table, name: string): Buffer | string {
  const column = table.getChild(name) as Vector;
  const values = column.toArray() as ArrayBufferView | string[];
  return ArrayBuffer.isView(values)
    ? Buffer.from(values.buffer, values.byteOffset, values.byteLength)
    : (values as string[]).join('\n');
}

function sameColumn(a: Table, b: Table, name: string): boolean {
  const [x, y] = [columnValues(a, name), columnValues(b, name)];
  return typeof x === 'string' ? x === y : Buffer.isBuffer(y) && x.equals(y);
}

describe('arrow through real Python workers', () => {
  let invoker: StdioInvoker;
  beforeAll(async () => {
    invoker = arrowInvoker();
    await invoker.start();
  });
  afterAll(() => invoker.close());

  it('round-trips a 1,000,000-row, three-column table, every value checked on both sides', async () => {
    const table = bigTable(1_000_000);
    expect(await invoker.call(fixture('describe', [table]))).toEqual({
      type: 'pyarrow.lib.Table',
      rows: 1_000_000,
      columns: ['id', 'x', 'label'],
      types: ['int64', 'double', 'string'],
      aligned: true,
    });
    expect(await invoker.call(fixture('check_big', [table]))).toEqual({
      rows: 1_000_000,
      ids: true,
      xs: true,
      labels: true,
      nulls: 0,
    });
    const back = await invoker.call<Table>(fixture('echo', [table]));
    expect(back).toBeInstanceOf(Table);
    expect(back.numRows).toBe(1_000_000);
    for (const name of ['id', 'x', 'label']) {
      expect(sameColumn(back, table, name)).toBe(true);
    }
    expect(back.get(999_999)?.toJSON()).toEqual({ id: 999_999n, x: 999_999 / 7, label: 'row 999' });
    // Python aligned the stream in the message, so every column views the message as it arrived (a large
    // body arrives in a buffer of its own): the buffer starts with the message's ext 32 header of type 85.
    const buffers = new Set(back.data.flatMap((data) => data.children.map((child) => child.values.buffer)));
    expect(buffers.size).toBe(1);
    const [received] = buffers as Set<ArrayBufferLike>;
    expect([...new Uint8Array(received as ArrayBufferLike, 0, 6)].filter((_, i) => i === 0 || i === 5)).toEqual([
      0xc9, 85,
    ]);
  });

  it('receives a table Python builds, and one it computes from ours', async () => {
    const built = await invoker.call<Table>(fixture('big_table', [100_000]));
    expect(built.numRows).toBe(100_000);
    expect(built.get(12_345)?.toJSON()).toEqual({ id: 12_345n, x: 12_345 / 7, label: 'row 345' });
    const doubled = await invoker.call<Table>(fixture('doubled', [bigTable(10_000)]));
    expect(doubled.getChild('x')?.get(7_000)).toBe((7_000 / 7) * 2);
  });

  it('receives columns of many types from pyarrow, and sends them back unchanged', async () => {
    const table = await invoker.call<Table>(fixture('many_types'));
    expect(table.schema.fields.map((field) => `${field.name}: ${field.type}`)).toEqual([
      'u8: Uint8',
      'i64: Int64',
      'f32: Float32',
      'money: Decimal[10e+2]',
      'when: Timestamp<MILLISECOND, UTC>',
      'day: Date32<DAY>',
      'blob: Binary',
      'big: LargeUtf8',
      'tags: List<Utf8>',
      'point: Struct<{x:Int32, y:Int32}>',
      'color: Dictionary<Int32, Utf8>',
    ]);
    const rows = table.toArray().map((row) => row.toJSON());
    expect(rows[0]).toMatchObject({ u8: 0, i64: -(2n ** 63n), f32: 1.5, big: 'x', color: 'red' });
    expect(rows[1]).toMatchObject({ u8: 255, i64: 2n ** 63n - 1n, f32: null, money: null, when: null, big: null });
    expect(rows[0]?.when).toBe(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
    expect(rows[0]?.day).toBe(Date.UTC(2024, 1, 29));
    expect(Array.from((rows[0]?.blob as Uint8Array | undefined) ?? [])).toEqual([0, 255]);
    expect(rows[2]?.big).toBe('ünï');
    expect([...(table.getChild('tags')?.get(0) ?? [])]).toEqual(['a', 'b']);
    expect(table.getChild('point')?.get(2)?.toJSON()).toEqual({ x: 3, y: null });
    // Back to Python, which compares it with the table it made.
    expect(await invoker.call(fixture('equals_many_types', [table]))).toBe(true);
  });

  it('receives a pandas DataFrame result as an Arrow table', async () => {
    const frame = await invoker.call<Table>(fixture('frame', [4]));
    expect(frame).toBeInstanceOf(Table);
    expect(frame.schema.fields.map((field) => [field.name, String(field.type)])).toEqual([
      ['city', 'LargeUtf8'], // pandas 3 keeps strings in Arrow's large_string
      ['temp', 'Float64'],
      ['n', 'Int64'],
    ]);
    expect(frame.toArray().map((row) => row.toJSON())).toEqual([
      { city: 'city 0', temp: 0, n: 0n },
      { city: 'city 1', temp: 0.5, n: 1n },
      { city: 'city 2', temp: 1, n: 2n },
      { city: 'city 3', temp: 1.5, n: 3n },
    ]);
    expect(frame.schema.metadata.has('pandas')).toBe(true); // so that Python can rebuild the frame from it
  });

  it('receives a DataFrame with a named index with the index as a column', async () => {
    const frame = await invoker.call<Table>(fixture('frame_with_index'));
    expect(frame.schema.fields.map((field) => field.name)).toEqual(['temp', 'city']);
    expect(frame.toArray().map((row) => row.toJSON())).toEqual([
      { temp: -3.5, city: 'Oslo' },
      { temp: 19, city: 'Lima' },
    ]);
  });

  it('delivers tables among other positional and named arguments', async () => {
    const batch = smallTable().batches[0] as RecordBatch;
    const result = await invoker.call(
      fixture('call_with_tables', [3, smallTable(), batch, bigTable(1000)], { scale: 2.5, extra: smallTable() }),
    );
    expect(result).toEqual({
      count: 3,
      positional: ['pyarrow.lib.Table', 'pyarrow.lib.RecordBatch', 'pyarrow.lib.Table'],
      named: { extra: 'pyarrow.lib.Table' },
      scale: 2.5,
      rows: 3 + 3 + 1000,
    });
  });

  it('streams a generator of record batches as an async iterable, the generator held back by credit', async () => {
    const progress = join(mkdtempSync(join(tmpdir(), 'snakebridge-arrow-')), 'progress');
    const stream = invoker.stream<RecordBatch>(fixture('batches', [20, 1000, progress]), { window: 2 });
    const first = await stream.next();
    expect(first.done).toBe(false);
    await sleep(500);
    // One consumed, two in the window, and one the generator has made and waits to send.
    expect(Number(readFileSync(progress, 'utf8'))).toBeLessThanOrEqual(4);
    const batches = [first.value as RecordBatch];
    for await (const batch of stream) batches.push(batch);
    expect(batches).toHaveLength(20);
    batches.forEach((batch, i) => {
      expect(batch).toBeInstanceOf(RecordBatch);
      expect(batch.numRows).toBe(1000);
      expect(batch.getChild('batch')?.get(999)).toBe(BigInt(i));
      expect(batch.getChild('x')?.get(0)).toBe(BigInt(i * 1000));
    });
    expect(Number(readFileSync(progress, 'utf8'))).toBe(20);
  });

  it('gives Python a pandas DataFrame where the host asks for one with tableAs', async () => {
    const table = smallTable();
    expect(await invoker.call(fixture('kind_of', [tableAs(table, 'pandas')]))).toBe('pandas.DataFrame');
    expect(await invoker.call(fixture('kind_of', [table]))).toBe('pyarrow.lib.Table');
    expect(await invoker.call(fixture('first_column_sum', [tableAs(table, 'pandas')]))).toBe(5.5);
  });

  it('lets the callee ask for its tables as numpy arrays with @tables_as', async () => {
    expect(await invoker.call(fixture('column_sums', [smallTable()]))).toEqual({ x: 5.5, n: 3 });
  });
});

describe('a worker whose tables arrive as pandas (tablesAs)', () => {
  let invoker: StdioInvoker;
  beforeAll(async () => {
    invoker = arrowInvoker({ tablesAs: 'pandas' });
    await invoker.start();
  });
  afterAll(() => invoker.close());

  it('hands every table to Python as a DataFrame, unless tableAs says otherwise', async () => {
    expect(await invoker.call(fixture('kind_of', [smallTable()]))).toBe('pandas.DataFrame');
    expect(await invoker.call(fixture('first_column_sum', [smallTable()]))).toBe(5.5);
    expect(await invoker.call(fixture('kind_of', [tableAs(smallTable(), 'pyarrow')]))).toBe('pyarrow.lib.Table');
  });

  it('round-trips a DataFrame to the host and back, its index rebuilt from the pandas metadata', async () => {
    const frame = await invoker.call<Table>(fixture('frame', [3]));
    expect(await invoker.call(fixture('frame_info', [frame]))).toEqual({
      type: 'pandas.DataFrame',
      columns: ['city', 'temp', 'n'],
      index: 'RangeIndex',
      indexName: null,
      rows: 3,
    });
    const indexed = await invoker.call<Table>(fixture('frame_with_index'));
    expect(await invoker.call(fixture('frame_info', [indexed]))).toEqual({
      type: 'pandas.DataFrame',
      columns: ['temp'],
      index: 'Index',
      indexName: 'city',
      rows: 2,
    });
  });
});

describe('a bridge configured with serializer arrow', () => {
  let bridge: Bridge;
  beforeAll(async () => {
    bridge = await createBridge(
      { invoker: 'stdio', serializer: 'arrow', pool: { min: 1, max: 1 }, python: { path: [FIXTURES] } },
      { env: {}, logger: silentLogger },
    );
  });
  afterAll(() => bridge.close());

  it('loads this package by name and sends and receives tables through module proxies', async () => {
    const arrowFixture = bridge.module('arrow_fixture');
    const table = smallTable();
    expect(await arrowFixture.kind_of(table)).toBe('pyarrow.lib.Table');
    const back = (await arrowFixture.echo(table)) as Table;
    expect(back.toArray().map((row) => row.toJSON())).toEqual(table.toArray().map((row) => row.toJSON()));
    const pyarrowTable = (await bridge.module('pyarrow').table({ a: [1, 2, 3] })) as Table;
    expect(pyarrowTable.getChild('a')?.toArray()).toEqual(new BigInt64Array([1n, 2n, 3n]));
  });
});

describeInvokerContract(vitest, 'stdio with the arrow serializer', { create: () => arrowInvoker() });

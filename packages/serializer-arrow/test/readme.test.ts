// The examples of this package's README, run as written (with a quiet logger
// and no environment variables), so the README cannot drift from the code.
// The Python example is run by python/tests/test_arrow_serializer.py.

import { type Bridge, createBridge, silentLogger } from '@snakebridge/core';
import { type RecordBatch, type Table, tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableAs } from '../src/index.js';

describe('README: tables through a bridge with serializer arrow', () => {
  let bridge: Bridge;
  beforeAll(async () => {
    bridge = await createBridge({ serializer: 'arrow' }, { env: {}, logger: silentLogger });
  });
  afterAll(() => bridge.close());

  const table = tableFromArrays({ city: ['Oslo', 'Lima'], temp: new Float64Array([-3.5, 19]) });

  it('concatenates tables in pyarrow, gets a DataFrame result as a table, and describes one in pandas', async () => {
    const pa = bridge.module('pyarrow');
    const both = (await pa.concat_tables([table, table])) as Table;
    expect(both.numRows).toBe(4);
    expect(both.schema.fields.map((field) => field.name)).toEqual(['city', 'temp']);
    expect([...(both.getChild('city') ?? [])]).toEqual(['Oslo', 'Lima', 'Oslo', 'Lima']);

    const frame = (await bridge.module('pandas').DataFrame({ n: [1, 2, 3] })) as Table;
    expect([...(frame.getChild('n') ?? [])]).toEqual([1n, 2n, 3n]);

    const stats = (await bridge.module('pandas').DataFrame.describe(tableAs(table, 'pandas'))) as Table;
    expect(stats.schema.fields.map((field) => field.name)).toEqual(['temp', '__index_level_0__']);
    expect([...(stats.getChild('__index_level_0__') ?? [])].slice(0, 2)).toEqual(['count', 'mean']);
    expect(stats.getChild('temp')?.get(1)).toBe(7.75);
  });

  it('streams the batches of a table, one per item', async () => {
    const rows: RecordBatch[] = [];
    for await (const batch of bridge.stream<RecordBatch>(
      'pyarrow.Table.to_batches',
      [table],
      { max_chunksize: 1 },
      { window: 4 },
    )) {
      rows.push(batch);
    }
    expect(rows.map((batch) => batch.numRows)).toEqual([1, 1]);
    expect(rows.map((batch) => batch.getChild('city')?.get(0))).toEqual(['Oslo', 'Lima']);
  });
});

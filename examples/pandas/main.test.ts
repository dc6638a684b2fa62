// examples/pandas runs against real Python and prints what its README says.

import { expect, it } from 'vitest';
import { runExample } from '../run-example.js';

it('groups records in pandas and gets Arrow tables back', async () => {
  const { stdout, stderr } = await runExample('pandas/main.ts');
  const lines = stdout.trimEnd().split('\n');
  const header = '  region: LargeUtf8  orders: Int64  revenue: Float64  average: Float64';
  expect(lines).toEqual([
    'sent 1000 records; pandas grouped them by region into a table of 4 rows:',
    header,
    '  east               122            6248.46           51.22',
    '  north              598            29540.34          49.4',
    '  south              253            13008.98          51.42',
    '  west               27             1379.86           51.11',
    'the two regions with the most revenue:',
    header,
    '  north              598            29540.34          49.4',
    '  south              253            13008.98          51.42',
  ]);
  // The aggregates add up: every order counted once, and each average is revenue / orders.
  const rows = lines.slice(2, 6).map((line) => line.trim().split(/\s+/));
  expect(rows.reduce((sum, [, orders]) => sum + Number(orders), 0)).toBe(1000);
  for (const [, orders, revenue, average] of rows) {
    expect(Number(average)).toBeCloseTo(Number(revenue) / Number(orders), 1);
  }
  expect(stderr).toBe('');
}, 30_000);

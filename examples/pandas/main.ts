// pandas from TypeScript with the Arrow serializer: records go in, pandas
// groups and aggregates them, and the DataFrame comes back as an Arrow table.
//
// Run: npx tsx --conditions=@snakebridge/source examples/pandas/main.ts

import { fileURLToPath } from 'node:url';
import { createBridge } from '@snakebridge/core';

await using bridge = await createBridge({
  // Arrow tables <-> pyarrow / pandas, everything else as msgpack (needs pyarrow and pandas in the worker).
  serializer: 'arrow',
  // sales.py sits beside this file: the workers import it from here.
  python: { path: [fileURLToPath(new URL('.', import.meta.url))] },
  pool: { max: 1 },
  logLevel: 'warn',
});

// 1,000 orders, made up, the same on every run (a seeded Park-Miller generator).
let seed = 42;
const random = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
};
const regions = ['north', 'south', 'east', 'west'];
const orders = Array.from({ length: 1000 }, () => ({
  region: regions[Math.floor(random() * random() * regions.length)],
  amount: Math.round(random() * 10_000) / 100,
}));

/** An apache-arrow Table, as much of it as this example reads. */
interface ArrowTable {
  readonly numRows: number;
  readonly schema: { readonly fields: readonly { readonly name: string; readonly type: unknown }[] };
  toArray(): { toJSON(): Record<string, unknown> }[];
}

/** Prints a table's columns (with their Arrow types) and rows, aligned. */
function print(table: ArrowTable): void {
  const names = table.schema.fields.map((field) => field.name);
  const cells = [
    table.schema.fields.map((field) => `${field.name}: ${String(field.type)}`),
    ...table.toArray().map((row) => names.map((name) => String(row.toJSON()[name]))),
  ];
  const widths = names.map((_, i) => Math.max(...cells.map((line) => line[i]?.length ?? 0)));
  for (const line of cells) console.log(`  ${line.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
}

const sales = bridge.module('sales');

const summary: ArrowTable = await sales.by_region(orders);
console.log(`sent ${orders.length} records; pandas grouped them by region into a table of ${summary.numRows} rows:`);
print(summary);

// The table goes back to Python as Arrow (no row-by-row conversion); top() takes it as a DataFrame.
const best: ArrowTable = await sales.top(summary, 'revenue');
console.log('the two regions with the most revenue:');
print(best);

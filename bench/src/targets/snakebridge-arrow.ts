// Workload (d): a 1,000,000-row, three-column Arrow table to Python and back.

import { fileURLToPath } from 'node:url';
import { createBridge } from '@snakebridge/core';
import { tableFromArrays } from 'apache-arrow';
import { report, sample } from '../measure.js';

const bridge = await createBridge(
  {
    serializer: 'arrow',
    logLevel: 'warn',
    python: { path: [fileURLToPath(new URL('../../python', import.meta.url))] },
    pool: { min: 1, max: 1, pingIntervalMs: 0 },
  },
  { env: {} },
);
const rows = 1_000_000;
const table = tableFromArrays({
  id: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)),
  value: new Float64Array(rows).map((_, i) => i * 0.5),
  flag: Array.from({ length: rows }, (_, i) => i % 2 === 0),
});
report('snakebridge-arrow', {
  '1M-row table': { ...(await sample(10, 2, () => bridge.call('bench_work.echo', [table]))) },
});
await bridge.close();

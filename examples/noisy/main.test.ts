// examples/noisy runs against real Python and prints what its README says.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

it("hands the worker's prints, progress bar and log records to the host's logger, line by line", async () => {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=@snakebridge/source', 'examples/noisy/main.ts'],
    { cwd: root, env: { ...process.env, NODE_ENV: 'production' } },
  );
  const lines = stdout.trimEnd().split('\n');
  // stdout and stderr are two pipes: lines keep their order within a stream, not across the two.
  const worker = lines.slice(0, 5);
  expect([...worker].sort()).toEqual(
    [
      '[python w1 stderr] INFO noisy_job: starting 20 steps',
      '[python w1 stdout] crunching 20 steps',
      "[python w1 stderr] [####################] 20/20   (one line, 20 '\\r' redraws)",
      '[python w1 stderr] WARNING noisy_job: the total is large: 210',
      '[python w1 stdout] done: total=210',
    ].sort(),
  );
  const order = (stream: string) => worker.filter((line) => line.startsWith(`[python w1 ${stream}]`));
  expect(order('stdout')).toEqual(['[python w1 stdout] crunching 20 steps', '[python w1 stdout] done: total=210']);
  expect(order('stderr').map((line) => line.split(' ')[3])).toEqual(['INFO', '[####################]', 'WARNING']);
  expect(lines.slice(5)).toEqual([
    'result: 210',
    'the logger got 2 stdout lines (at info) and 3 stderr lines (at warn)',
  ]);
  expect(stderr).toBe('');
}, 30_000);

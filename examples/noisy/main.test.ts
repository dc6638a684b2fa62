// examples/noisy runs against real Python and prints what its README says.

import { expect, it } from 'vitest';
import { runExample } from '../run-example.js';

it("makes records of the worker's prints, its progress bar as it is drawn, and its logging records", async () => {
  const { stdout, stderr } = await runExample('noisy/main.ts');
  const lines = stdout.trimEnd().split('\n');
  const summary = lines.slice(-4);
  // How many updates the bar got depends on the machine's pace: at most one per 100 ms, each its latest state.
  const updates = lines.slice(0, -4).filter((line) => line.startsWith('[w1 stderr progress update] '));
  // The bar drawn full (20/20) may come as an update too, when it is drawn before its newline arrives.
  for (const update of updates) expect(update).toMatch(/^\[w1 stderr progress update\] \[#+\.*\] \d+\/20$/);
  const records = lines.slice(0, -4).filter((line) => !updates.includes(line));
  // stdout, stderr and the records that travel with the result are three channels: lines keep their order
  // within each, not across them.
  expect([...records].sort()).toEqual(
    [
      '[w1 logging INFO noisy_job] starting 20 steps   (in noisy_job.crunch)',
      '[w1 stdout] crunching 20 steps',
      '[w1 stderr progress final] [####################] 20/20',
      '[w1 logging WARNING noisy_job] the total is large: 210   (in noisy_job.crunch)',
      '[w1 stdout] done: total=210',
    ].sort(),
  );
  const of = (prefix: string) => records.filter((line) => line.startsWith(prefix));
  expect(of('[w1 stdout]')).toEqual(['[w1 stdout] crunching 20 steps', '[w1 stdout] done: total=210']);
  expect(of('[w1 logging').map((line) => line.split(' ')[2])).toEqual(['INFO', 'WARNING']);
  expect(summary).toEqual([
    'result: 210',
    'the logger got 2 stdout lines, at info',
    'and 2 logging records, at their own levels',
    `and ${summary[3]?.match(/^and (\d+) /)?.[1]} progress updates while the call ran, then the bar's final state`,
  ]);
  expect(stderr).toBe('');
}, 30_000);

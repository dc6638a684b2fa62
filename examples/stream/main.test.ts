// examples/stream runs against real Python and prints what its README says.

import { expect, it } from 'vitest';
import { runExample } from '../run-example.js';

it('streams with back-pressure, closes the generator on break, and stops at the deadline', async () => {
  const { stdout, stderr } = await runExample('stream/main.ts');
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(15);
  expect(lines[0]).toBe('1. back-pressure: a feed for ever, read slowly, at most 4 readings ahead (window: 4)');

  // Readings 0 to 7, in order; Python never more than the window (4) ahead of what was read.
  const readings = lines
    .slice(1, 9)
    .map((line) => line.match(/^ {3}reading (\d+): (\d+\.\d\d) °C \(Python has produced (\d+)\)$/));
  readings.forEach((match, read) => {
    expect(match, lines[read + 1]).not.toBeNull();
    expect(Number(match?.[1])).toBe(read);
    expect(Number(match?.[3]) - (read + 1)).toBeLessThanOrEqual(4);
  });
  expect(readings[0]?.[2]).toBe('20.00');
  const ahead = Number(lines[9]?.match(/^ {3}Python ran at most (\d+) readings ahead of the consumer$/)?.[1]);
  expect(ahead).toBeGreaterThanOrEqual(1);
  expect(ahead).toBeLessThanOrEqual(4);

  // The break closed the generator in Python: its finally block ran, and it made no more than the window allowed.
  expect(lines[10]).toBe('2. early break: the generator was closed in Python');
  const produced = Number(lines[11]?.match(/^ {3}finally block ran: true, readings produced: (\d+)$/)?.[1]);
  expect(produced).toBeGreaterThanOrEqual(8);
  expect(produced).toBeLessThanOrEqual(12);

  expect(lines[12]).toBe('3. a deadline for the whole stream (timeoutMs: 300), on a feed of a reading every 20 ms');
  const received = Number(
    lines[13]?.match(/^ {3}TimeoutError: sensor\.feed stopped after 300 ms, (\d+) readings in$/)?.[1],
  );
  expect(received).toBeGreaterThanOrEqual(1);
  expect(received).toBeLessThanOrEqual(15);
  expect(lines[14]).toBe('   finally block ran: true');
  expect(stderr).toBe('');
}, 30_000);

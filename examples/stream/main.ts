// A long-running Python generator, consumed with `for await`: back-pressure
// (`window`), an early `break` that closes the generator in Python, and a
// deadline (`timeoutMs`) for the whole stream.
//
// Run: npx tsx --conditions=@snakebridge/source examples/stream/main.ts

import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createBridge, TimeoutError } from '@snakebridge/core';

interface Reading {
  seq: number;
  celsius: number;
}
interface Status {
  produced: number;
  closed: boolean;
}

await using bridge = await createBridge({
  // sensor.py sits beside this file: the workers import it from here.
  python: { path: [fileURLToPath(new URL('.', import.meta.url))] },
  pool: { max: 2 },
  logLevel: 'warn',
});

// A session pins its calls to one worker, so status() reads the state of the feed it started.
await using session = await bridge.session();
const status = (): Promise<Status> => session.call<Status>('sensor.status');

// `break` sends the cancel and returns at once; Python closes the generator
// (its `finally` runs) moments later. Wait for that before reading the flag.
async function closedInPython(): Promise<Status> {
  for (let tries = 0; ; tries++) {
    const now = await status();
    if (now.closed || tries === 100) return now;
    await sleep(20);
  }
}

console.log('1. back-pressure: a feed for ever, read slowly, at most 4 readings ahead (window: 4)');
let read = 0;
let mostAhead = 0;
for await (const reading of session.stream<Reading>('sensor.feed', [], { interval: 0.001 }, { window: 4 })) {
  read += 1;
  await sleep(25); // a slow consumer: Python would make 25 readings meanwhile, but is paused
  const { produced } = await status();
  mostAhead = Math.max(mostAhead, produced - read);
  console.log(`   reading ${reading.seq}: ${reading.celsius.toFixed(2)} °C (Python has produced ${produced})`);
  if (read === 8) break; // closes the generator in Python
}
console.log(`   Python ran at most ${mostAhead} readings ahead of the consumer`);

console.log('2. early break: the generator was closed in Python');
const afterBreak = await closedInPython();
console.log(`   finally block ran: ${afterBreak.closed}, readings produced: ${afterBreak.produced}`);

console.log('3. a deadline for the whole stream (timeoutMs: 300), on a feed of a reading every 20 ms');
let received = 0;
try {
  for await (const _reading of session.stream<Reading>('sensor.feed', [], { interval: 0.02 }, { timeoutMs: 300 })) {
    received += 1;
  }
} catch (error) {
  if (!TimeoutError.is(error)) throw error;
  console.log(`   TimeoutError: ${error.target} stopped after ${error.timeoutMs} ms, ${received} readings in`);
}
const afterTimeout = await closedInPython();
console.log(`   finally block ran: ${afterTimeout.closed}`);

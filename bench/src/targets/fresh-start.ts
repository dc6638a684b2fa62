// Run by the snakebridge target as a child process of its own: a fresh Node
// process that has loaded none of our packages imports them from their build
// (core, then the stdio adapter and the msgpack serializer that createBridge
// loads), makes one call and prints how long that took, as one JSON line.
// Nothing is imported before the clock starts: the imports are dynamic.

const scriptStarted = performance.now();
const { createBridge } = await import('@snakebridge/core');
const bridge = await createBridge(
  { serializer: 'msgpack', logLevel: 'warn', pool: { min: 1, max: 1, pingIntervalMs: 0 } },
  { env: {} },
);
const answer = await bridge.call('operator.add', [1, 2]);
// performance.now() counts from the process's own start (its time origin), before Node's bootstrap.
const answered = performance.now();
await bridge.close();
if (answer !== 3) throw new Error(`operator.add(1, 2) gave ${String(answer)}`);
process.stdout.write(`${JSON.stringify({ scriptMs: answered - scriptStarted, processMs: answered })}\n`);

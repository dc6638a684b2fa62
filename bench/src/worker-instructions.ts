// Instructions a Python worker executes per small call, counted by valgrind's
// callgrind: unlike time, the count repeats on a shared, noisy machine, so a
// change to the worker's hot path can be judged by one run before and after.
//
//   node bench/dist/worker-instructions.js [calls=5000] [in-flight=1]
//
// The worker runs under callgrind twice, making WARMUP calls of
// bench_work.add(1, 2), then WARMUP + `calls`; the difference divided by
// `calls` is the worker's cost of one call (start-up and warm-up cancel out).
// Needs valgrind.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBridge } from '@snakebridge/core';
import { python } from './python.js';

const WORK = fileURLToPath(new URL('../python', import.meta.url));
const calls = Number(process.argv[2] ?? 5000);
const inFlight = Number(process.argv[3] ?? 1);
/** Calls made in both runs: the worker starts on the first, and imports what calls need. */
const WARMUP = 200;

/**
 * An "interpreter" that runs the real one under callgrind. Interpreter discovery runs it with `-c`
 * to learn sys.executable; it answers with its own path, so that the workers are started through it.
 */
function valgrindWrapper(dir: string, interpreter: string): string {
  const wrapper = join(dir, 'python');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      // The probe (`-c`, maybe after `-S`): answered by the real interpreter, naming this wrapper.
      `case " $* " in *" -c "*) "${interpreter}" "$@" | sed 's#${interpreter}#${wrapper}#'; exit;; esac`,
      `exec valgrind --tool=callgrind --callgrind-out-file=${dir}/callgrind.%p.out "${interpreter}" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/** Instructions the worker executed in all, after making WARMUP and then `count` calls. */
async function workerInstructions(dir: string, executable: string, count: number): Promise<number> {
  for (const file of readdirSync(dir)) if (file.startsWith('callgrind.')) rmSync(join(dir, file));
  const bridge = await createBridge(
    {
      serializer: 'msgpack',
      logLevel: 'error',
      python: { path: [WORK], executable },
      timeouts: { startMs: 120_000 },
      // Spawned, not forked from a fork server: one process under callgrind, the worker itself.
      pool: { min: 1, max: 1, maxConcurrency: Math.max(1, inFlight), pingIntervalMs: 0, forkServer: false },
    },
    { env: {} },
  );
  const add = () => bridge.call('bench_work.add', [1, 2]);
  for (let i = 0; i < WARMUP; i++) await add();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < count) await add();
    }),
  );
  await bridge.close();
  const [out] = readdirSync(dir).filter((file) => file.startsWith('callgrind.'));
  if (out === undefined) throw new Error('callgrind wrote no profile: is valgrind installed?');
  const totals = /^summary:\s+(\d+)/m.exec(readFileSync(join(dir, out), 'utf8'));
  return Number(totals?.[1]);
}

execFileSync('valgrind', ['--version']);
const dir = mkdtempSync(join(tmpdir(), 'snakebridge-instructions-'));
try {
  const executable = valgrindWrapper(dir, await python());
  const idle = await workerInstructions(dir, executable, 0);
  const busy = await workerInstructions(dir, executable, calls);
  const perCall = Math.round((busy - idle) / calls);
  console.log(`worker instructions per call: ${perCall} (${calls} calls, ${inFlight} in flight)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

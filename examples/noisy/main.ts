// What happens to a Python module's output (print, progress bars, logging):
// each becomes a record for the host's logger, with the worker and the stream
// it came from as fields.
//
// Run: npx tsx --conditions=@snakebridge/source examples/noisy/main.ts

import { fileURLToPath } from 'node:url';
import { createBridge, type LogFields, type Logger } from '@snakebridge/core';

interface Entry {
  readonly level: string;
  readonly message: string;
  readonly fields: LogFields;
  /** It came before the call returned. */
  readonly whileRunning: boolean;
}

/** A logger that prints each worker record with where it came from, keeps it, and tells when one has come. */
function prefixingLogger(): Logger & { entries: Entry[]; arrived(matches: (entry: Entry) => boolean): Promise<void> } {
  const entries: Entry[] = [];
  const waiting = new Map<(entry: Entry) => boolean, () => void>();
  const write =
    (level: string) =>
    (message: string, fields: LogFields = {}) => {
      if (fields.workerId === undefined) return; // lifecycle notes: worker started, stopped…
      const entry = { level, message, fields, whileRunning: running };
      entries.push(entry);
      const { workerId, stream, progress, logger, pythonLevel, call } = fields;
      const source =
        stream === 'logging'
          ? `logging ${String(pythonLevel)} ${String(logger)}`
          : `${String(stream)}${progress === undefined ? '' : ` progress ${String(progress)}`}`;
      const during = call === undefined ? '' : `   (in ${(call as { target: string }).target})`;
      console.log(`[${String(workerId)} ${source}] ${message}${during}`);
      for (const [matches, resolve] of waiting) if (matches(entry)) resolve();
    };
  const arrived = (matches: (entry: Entry) => boolean) =>
    entries.some(matches) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(matches, resolve));
  return { entries, arrived, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** Whether the call is still running: progress records come while it runs, not after it. */
let running = false;
const logger = prefixingLogger();
await using bridge = await createBridge(
  {
    // noisy_job.py sits beside this file: the workers import it from here.
    python: {
      path: [fileURLToPath(new URL('.', import.meta.url))],
      // A progress record at most every 100 ms while the bar is drawn (the default is one a second).
      output: { progressIntervalMs: 100 },
    },
    pool: { max: 1 },
  },
  { logger },
);

running = true;
const total = await bridge.module('noisy_job').crunch(20);
running = false;
// logging records travel with the result, but stdout and stderr are pipes of their own: wait for their last lines.
await Promise.all([
  logger.arrived((entry) => entry.message.startsWith('done: total=')),
  logger.arrived((entry) => entry.fields.progress === 'final'),
]);
console.log(`result: ${total}`);
const count = (matches: (entry: Entry) => boolean) => logger.entries.filter(matches).length;
console.log(`the logger got ${count((e) => e.fields.stream === 'stdout')} stdout lines, at info`);
console.log(`and ${count((e) => e.fields.stream === 'logging')} logging records, at their own levels`);
const updates = count((e) => e.fields.progress === 'update' && e.whileRunning);
console.log(`and ${updates} progress updates while the call ran, then the bar's final state`);

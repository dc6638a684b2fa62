// What happens to a Python module's output (print, progress bars, logging):
// each worker's stdout and stderr reach the host's logger line by line.
//
// Run: npx tsx --conditions=@snakebridge/source examples/noisy/main.ts

import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createBridge, type LogFields, type Logger } from '@snakebridge/core';

/** A logger that prints every worker line with a prefix saying where it came from, and keeps it. */
function prefixingLogger(): Logger & { lines: { level: string; stream: unknown; message: string }[] } {
  const lines: { level: string; stream: unknown; message: string }[] = [];
  const write = (level: string) => (message: string, fields?: LogFields) => {
    if (level === 'debug') return; // lifecycle notes: worker started, stopped…
    lines.push({ level, stream: fields?.stream, message });
    // A line holding '\r' redraws (a progress bar) arrives whole: show its last state and how many it held.
    const redraws = message.split('\r');
    const shown = redraws.at(-1) ?? '';
    const note = redraws.length > 1 ? `   (one line, ${redraws.length - 1} '\\r' redraws)` : '';
    console.log(`[python ${String(fields?.workerId ?? '-')} ${String(fields?.stream ?? level)}] ${shown}${note}`);
  };
  return { lines, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

const logger = prefixingLogger();
await using bridge = await createBridge(
  {
    // noisy_job.py sits beside this file: the workers import it from here.
    python: { path: [fileURLToPath(new URL('.', import.meta.url))] },
    pool: { max: 1 },
  },
  { logger },
);

const total = await bridge.module('noisy_job').crunch(20);
// Output comes on the worker's stdout and stderr pipes, beside the result: its last lines may land just after it.
const arrived = (text: string) => logger.lines.some((line) => line.message.includes(text));
for (let tries = 0; tries < 100 && !(arrived('done:') && arrived('the total is large')); tries++) await sleep(10);
console.log(`result: ${total}`);
const count = (stream: string) => logger.lines.filter((line) => line.stream === stream).length;
console.log(`the logger got ${count('stdout')} stdout lines (at info) and ${count('stderr')} stderr lines (at warn)`);

// What a worker writes becomes log records, with real Python workers: its
// stdout and stderr (tagged, at each stream's level), a progress bar while the
// call that draws it runs, a line without its newline after a quiet period,
// escapes and bytes that are not UTF-8 made safe, a line that never ends cut,
// and its `logging` records with their level, logger and call. Tests wait on
// records (a host callback holds the Python side until the host has seen one),
// never on a clock.

import { Writable } from 'node:stream';
import type { Logger, SnakeBridgeSettings } from '@snakebridge/core';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { StdioInvoker } from '../src/index.js';
import { fn, LAUNCH_MODES, recordingLogger, testInvoker as stdioInvoker } from './helpers.js';
import { type Entry, watchingLogger } from './watching-logger.js';

const fromStream = (stream: string) => (entry: Entry) => entry.fields.stream === stream;

describe.each(LAUNCH_MODES)('worker output, workers $name', ({ forkServer }) => {
  let invoker: StdioInvoker | undefined;
  afterEach(() => invoker?.close());
  const testInvoker = (settings: Parameters<typeof stdioInvoker>[0], logger: Parameters<typeof stdioInvoker>[1]) =>
    stdioInvoker({ ...settings, pool: { forkServer, ...settings?.pool } }, logger);

  function start(logger: Logger, settings: SnakeBridgeSettings = {}): StdioInvoker {
    invoker = testInvoker(settings, logger);
    return invoker;
  }

  it('keeps frames intact while a library prints on import and on every call', async () => {
    const bridge = start(recordingLogger());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => bridge.call(fn('noisy.shout', [`m${i}`]))));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => `M${i}`));
  });

  it('makes a record of each line of stdout (info) and stderr (warn), tagged with the worker', async () => {
    const logger = watchingLogger();
    const bridge = start(logger);
    await bridge.call(fn('noisy.shout', ['hello']));
    const stdout = await logger.next((entry) => entry.message === 'noisy: hello');
    const stderr = await logger.next((entry) => entry.message === 'noisy: hello (stderr)');
    expect(stdout).toMatchObject({ level: 'info', fields: { workerId: 'w1', stream: 'stdout' } });
    expect(stderr).toMatchObject({ level: 'warn', fields: { workerId: 'w1', stream: 'stderr' } });
    expect(stdout.fields.workerPid).toBe(bridge.pool.stats().workers[0]?.pid);
    await logger.next((entry) => entry.message === 'noisy: warning on import');
  });

  it('shows a progress bar while the call that draws it runs, then its final state', async () => {
    const logger = watchingLogger();
    // An interval no test run reaches: the first state passes at once, every later one waits for the line's end.
    const bridge = start(logger, { python: { output: { progressIntervalMs: 600_000 } } });
    const progress = (entry: Entry) => entry.fields.progress === 'update';
    // Python waits in `release` until the host has seen a progress record: the call cannot end before.
    const release = () => logger.next(progress).then(() => true);
    expect(await bridge.call(fn('chatty.progress_until', [release]))).toBe('drawn');
    const update = await logger.next(progress);
    expect(update).toMatchObject({ level: 'info', fields: { stream: 'stderr', workerId: 'w1' } });
    expect(update.message).toMatch(/^\[#{1,3}\.{3,5}\] [1-3]\/6$/);
    const final = await logger.next((entry) => entry.fields.progress === 'final');
    expect(final).toMatchObject({ level: 'info', message: '[######] 6/6' });
    expect(logger.entries.filter(progress)).toHaveLength(1); // throttled: the rest superseded by the final state
  });

  it('passes on a line without its newline after a quiet period, while the call waits', async () => {
    const logger = watchingLogger();
    const bridge = start(logger, { python: { output: { partialLineMs: 50 } } });
    const partial = (entry: Entry) => entry.fields.partial === true;
    const release = () => logger.next(partial).then(() => true);
    expect(await bridge.call(fn('chatty.partial_until', [release]))).toBe('loaded');
    expect(await logger.next(partial)).toMatchObject({ level: 'info', message: 'Loading...' });
    const rest = await logger.next((entry) => entry.message === ' done');
    expect(rest.fields).toEqual({ workerId: 'w1', workerPid: rest.fields.workerPid, stream: 'stdout' });
  });

  it('strips escape sequences and escapes bytes that are not UTF-8, by default', async () => {
    const logger = watchingLogger();
    const bridge = start(logger);
    await bridge.call(fn('chatty.hostile'));
    const line = await logger.next((entry) => fromStream('stdout')(entry) && entry.message.includes('end'));
    expect(line.message).toBe('red x \\xff\\xfe end');
  });

  it('escapes the escape sequences instead when told to', async () => {
    const logger = watchingLogger();
    const bridge = start(logger, { python: { output: { escapes: 'escape', invalidUtf8: 'replace' } } });
    await bridge.call(fn('chatty.hostile'));
    const line = await logger.next((entry) => fromStream('stdout')(entry) && entry.message.includes('end'));
    expect(line.message).toBe('\\x1b[31mred\\x1b[0m \\x1b[2A\\x1b]0;pwned\\x07x \ufffd\ufffd end');
  });

  it('cuts a line longer than maxLineBytes, marks it, and reads on', async () => {
    const logger = watchingLogger();
    const bridge = start(logger, { python: { output: { maxLineBytes: 1_000 } } });
    expect(await bridge.call(fn('chatty.endless', [4_000_000]))).toBe(4_000_000);
    const cut = await logger.next((entry) => entry.fields.cut === true);
    expect(cut.message).toBe(`${'x'.repeat(1_000)} …[cut at 1000 bytes]`);
    await logger.next((entry) => entry.message === 'after the long line');
    expect(logger.entries.filter((entry) => entry.message.startsWith('xxx'))).toHaveLength(1);
  });

  it("passes on Python's logging records with their level, their logger and the call they were made in", async () => {
    const logger = watchingLogger();
    const bridge = start(logger);
    await bridge.call(fn('chatty.warn', ['the total is large']));
    const record = await logger.next(fromStream('logging'));
    expect(record).toEqual({
      level: 'warn',
      message: 'the total is large',
      fields: {
        workerId: 'w1',
        workerPid: bridge.pool.stats().workers[0]?.pid,
        stream: 'logging',
        logger: 'chatty',
        pythonLevel: 'WARNING',
        call: { target: 'chatty.warn' },
      },
    });
    // It came in a frame, not as text on stderr.
    expect(logger.entries.filter((entry) => entry.message.includes('the total is large'))).toHaveLength(1);
  });

  it('maps each Python level to its host level, from the level the config asks for', async () => {
    const logger = watchingLogger();
    const bridge = start(logger, { python: { output: { logging: 'debug' } } });
    await bridge.call(fn('chatty.every_level'));
    await logger.next((entry) => entry.message === 'at critical');
    const levels = logger.entries.filter(fromStream('logging')).map((entry) => [entry.fields.pythonLevel, entry.level]);
    expect(levels).toEqual([
      ['DEBUG', 'debug'],
      ['INFO', 'info'],
      ['WARNING', 'warn'],
      ['ERROR', 'error'],
      ['CRITICAL', 'error'],
    ]);
  });

  it("leaves Python's logging alone when logging is 'off': its records are stderr lines", async () => {
    const logger = watchingLogger();
    const bridge = start(logger, { python: { output: { logging: 'off' } } });
    await bridge.call(fn('chatty.warn', ['plain text']));
    const line = await logger.next((entry) => entry.message.includes('plain text'));
    expect(line).toMatchObject({ level: 'warn', message: 'plain text', fields: { stream: 'stderr' } });
  });

  it('writes to a pino logger as it is, keeping the fields (and pino its own pid)', async () => {
    const lines: Record<string, unknown>[] = [];
    const waiting: ((line: Record<string, unknown>) => void)[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
          const line = JSON.parse(text) as Record<string, unknown>;
          lines.push(line);
          for (const wake of waiting.splice(0)) wake(line);
        }
        done();
      },
    });
    const seen = (matches: (line: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const check = () => {
          const line = lines.find(matches);
          if (line === undefined) waiting.push(check);
          else resolve(line);
        };
        check();
      });
    const bridge = start(pino({ level: 'debug' }, destination));
    await bridge.call(fn('chatty.warn', ['through pino']));
    await bridge.call(fn('noisy.shout', ['to pino']));
    const record = await seen((line) => line.msg === 'through pino');
    const workerPid = bridge.pool.stats().workers[0]?.pid;
    expect(record).toMatchObject({
      level: 40,
      pid: process.pid,
      workerId: 'w1',
      workerPid,
      stream: 'logging',
      logger: 'chatty',
      pythonLevel: 'WARNING',
      call: { target: 'chatty.warn' },
    });
    expect(await seen((line) => line.msg === 'noisy: to pino')).toMatchObject({
      level: 30,
      workerId: 'w1',
      workerPid,
      stream: 'stdout',
    });
  });
});

// A worker's output as records: each stream at its level with the worker's
// fields, `logging` records at theirs, a stderr tail for crash reports, and a
// logger that throws harming nobody. Streams are in-memory here; output.test.ts
// in the stdio adapter does the same with real workers.

import { PassThrough } from 'node:stream';
import { type LogFields, type Logger, type OutputSettings, resolveConfig } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { WorkerOutput } from '../src/index.js';

const SETTINGS = resolveConfig({}, { env: {} }).python.output;

interface Entry {
  readonly level: string;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

function output(settings: Partial<OutputSettings> = {}, logger?: Logger) {
  const entries: Entry[] = [];
  const keep = (level: string) => (message: string, fields?: LogFields) =>
    void entries.push({ level, message, fields });
  const sink = logger ?? { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
  const out = new WorkerOutput({
    logger: sink,
    settings: { ...SETTINGS, ...settings },
    workerId: 'w7',
    workerPid: 4242,
    stderrTailLines: 3,
  });
  return { out, entries };
}

/** Feeds `text` through a stream and ends it; resolves once it has been read. */
async function feed(out: WorkerOutput, name: 'stdout' | 'stderr', ...chunks: string[]): Promise<void> {
  const stream = new PassThrough();
  out.follow(stream, name);
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  stream.resume();
  await ended;
}

describe('WorkerOutput', () => {
  it("makes records at each stream's level, tagged with the worker, its pid and the stream", async () => {
    const { out, entries } = output({ stdout: 'debug', stderr: 'error' });
    await feed(out, 'stdout', 'to stdout\n');
    await feed(out, 'stderr', 'to stderr\n');
    expect(entries).toEqual([
      { level: 'debug', message: 'to stdout', fields: { workerId: 'w7', workerPid: 4242, stream: 'stdout' } },
      { level: 'error', message: 'to stderr', fields: { workerId: 'w7', workerPid: 4242, stream: 'stderr' } },
    ]);
  });

  it("drops a 'silent' stream, but still keeps stderr's tail for crash reports", async () => {
    const { out, entries } = output({ stdout: 'silent', stderr: 'silent' });
    await feed(out, 'stdout', 'quiet\n');
    await feed(out, 'stderr', 'one\ntwo\nthree\nfour\n');
    expect(entries).toEqual([]);
    expect(out.stderrTail()).toEqual(['two', 'three', 'four']);
  });

  it('puts redrawn lines at the progress level, whichever stream they are on', async () => {
    const { out, entries } = output({ stderr: 'warn', progress: 'debug' });
    await feed(out, 'stderr', '\r1/2', '\r2/2\n');
    expect(entries.map((entry) => [entry.level, entry.message, entry.fields?.progress])).toEqual([
      ['debug', '1/2', 'update'],
      ['debug', '2/2', 'final'],
    ]);
  });

  it('passes on a logging record at its level, made safe and cut, and keeps warnings in the tail', () => {
    const { out, entries } = output({ maxLineBytes: 256 });
    out.record({ level: 10, levelName: 'DEBUG', logger: 'lib', message: 'quiet' });
    out.record({
      level: 40,
      levelName: 'ERROR',
      logger: 'app\x1b[2J',
      message: `boom\n${'y'.repeat(300)}`,
      call: { target: 'app.run' },
    });
    expect(entries[0]).toEqual({
      level: 'debug',
      message: 'quiet',
      fields: { workerId: 'w7', workerPid: 4242, stream: 'logging', logger: 'lib', pythonLevel: 'DEBUG' },
    });
    expect(entries[1]?.level).toBe('error');
    expect(entries[1]?.message).toBe(`boom\n${'y'.repeat(251)} …[cut at 256 bytes]`);
    expect(entries[1]?.fields).toMatchObject({ logger: 'app', cut: true, call: { target: 'app.run' } });
    expect(out.stderrTail()).toEqual([`ERROR app: ${entries[1]?.message}`]);
  });

  it('reads records written as JSON lines, and reports a line that is not one without stopping', async () => {
    const { out, entries } = output();
    const stream = new PassThrough();
    out.followRecords(stream, 'the log channel of gRPC server w7 (fd 5)');
    const ended = new Promise((resolve) => stream.on('end', resolve));
    stream.end(
      '{"level":30,"levelName":"WARNING","logger":"a","message":"one"}\nnot json\n' +
        '{"level":20,"levelName":"INFO","logger":"b","message":"two"}\n',
    );
    await ended;
    expect(entries.map((entry) => [entry.level, entry.message.slice(0, 60)])).toEqual([
      ['warn', 'one'],
      ['warn', 'the log channel of gRPC server w7 (fd 5): A log record from '],
      ['info', 'two'],
    ]);
  });

  it('survives a logger that throws: the worker is not its victim', async () => {
    const throwing: Logger = {
      debug: () => {},
      info: () => {
        throw new Error('the logger is broken');
      },
      warn: () => {},
      error: () => {},
    };
    const { out } = output({}, throwing);
    await expect(feed(out, 'stdout', 'a\n', 'b\n')).resolves.toBeUndefined();
    expect(() => out.record({ level: 20, levelName: 'INFO', logger: 'x', message: 'm' })).not.toThrow();
  });
});

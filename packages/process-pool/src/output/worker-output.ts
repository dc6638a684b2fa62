// What a worker writes becomes log records: its stdout and stderr, split into
// lines, progress and partial lines (line-splitter.ts), made safe
// (safe-text.ts), at each stream's level; and its Python `logging` records,
// at their own level. Every record carries the worker's id, its pid and where
// it came from. A stdio worker and a managed gRPC server alike.

import type { Readable } from 'node:stream';
import type { LogFields, Logger, LogLevel, OutputSettings } from '@snakebridge/core';
import { LineSplitter, type OutputPiece } from './line-splitter.js';
import { hostLevel, type PythonLogRecord } from './log-record.js';
import { readRecordLines } from './record-lines.js';
import { safeString, textOfBytes } from './safe-text.js';

/** The streams a worker's text comes from: `logging` is its Python logging records. */
export type OutputStream = 'stdout' | 'stderr' | 'logging';

/** What a WorkerOutput is made with. */
export interface WorkerOutputOptions {
  /** Where the records go. */
  readonly logger: Logger;
  /** Levels, pacing, bounds and text policy (`python.output`). */
  readonly settings: OutputSettings;
  /** The worker's id in its pool. */
  readonly workerId: string;
  /** Its process id (undefined if it could not be spawned). */
  readonly workerPid: number | undefined;
  /** Texts of stderr (and warning records) kept for crash reports. */
  readonly stderrTailLines: number;
}

/** Longest logger or level name passed on, in characters. */
const MAX_NAME = 256;
/** Python's WARNING: the records Python writes to stderr when nothing else is set up. */
const WARNING = 30;

/**
 * The records of one worker's output. `follow` reads a stream of its output
 * until it ends; `record` takes a `logging` record decoded elsewhere (a stdio
 * worker's LOG frame); `followRecords` reads records written as JSON lines (a
 * managed server's log channel). Nothing here runs per call: only when the
 * worker writes.
 */
export class WorkerOutput {
  readonly #options: WorkerOutputOptions;
  readonly #stderrTail: string[] = [];

  constructor(options: WorkerOutputOptions) {
    this.#options = options;
  }

  /** Reads `stream` (the worker's stdout or stderr) to its end, passing on each piece as a record. */
  follow(stream: Readable, name: 'stdout' | 'stderr'): void {
    const { settings } = this.#options;
    const splitter = new LineSplitter(settings, (piece) => this.#piece(name, piece));
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    // 'end' when it was read to its end; 'close' also when it was destroyed first.
    stream.on('end', () => splitter.end());
    stream.on('close', () => splitter.end());
  }

  /** Reads records written one JSON object per line on `stream`; one that is not a record is reported, not fatal. */
  followRecords(stream: Readable, channel: string): void {
    readRecordLines(
      stream,
      (record) => this.record(record),
      (why) => this.#write('warn', `${channel}: ${why}`, this.#fields('logging')),
    );
  }

  /** Passes on a Python `logging` record at its level, with its logger's name and the call it was made in. */
  record(record: PythonLogRecord): void {
    const { settings } = this.#options;
    const message = this.#cutText(safeString(record.message, settings, true));
    const fields: Record<string, unknown> = {
      ...this.#fields('logging'),
      logger: safeString(record.logger.slice(0, MAX_NAME), settings, false),
      pythonLevel: safeString(record.levelName.slice(0, MAX_NAME), settings, false),
    };
    if (message.cut) fields.cut = true;
    if (record.call !== undefined) {
      const { traceId, spanId } = record.call; // checked as hex by the decoder: nothing to make safe
      const target = safeString(record.call.target, settings, false);
      fields.call = traceId === undefined ? { target } : { target, traceId, spanId };
    }
    // Without the handler, Python would have written it to stderr: a crash report shows it likewise.
    if (record.level >= WARNING) this.#keep(`${fields.pythonLevel} ${fields.logger}: ${message.text}`);
    this.#write(hostLevel(record.level), message.text, fields);
  }

  /** The last texts the worker wrote to stderr, and its warning (or worse) `logging` records, oldest first. */
  stderrTail(): string[] {
    return [...this.#stderrTail];
  }

  #piece(stream: 'stdout' | 'stderr', piece: OutputPiece): void {
    const { settings } = this.#options;
    const text = textOfBytes(piece.bytes, settings);
    if (stream === 'stderr' && piece.kind !== 'progress') this.#keep(text);
    const fields: Record<string, unknown> = this.#fields(stream);
    if (piece.redrawn) fields.progress = piece.kind === 'progress' ? 'update' : 'final';
    if (piece.kind === 'partial') fields.partial = true;
    if (piece.cut) fields.cut = true;
    const level = piece.redrawn ? settings.progress : settings[stream];
    this.#write(level, piece.cut ? this.#marked(text) : text, fields);
  }

  /** A message within maxLineBytes (of UTF-8), cut and marked if it was longer. */
  #cutText(text: string): { text: string; cut: boolean } {
    const max = this.#options.settings.maxLineBytes;
    // A UTF-16 unit is at least one UTF-8 byte: only a text this long can be over the limit.
    if (text.length <= max / 3 || Buffer.byteLength(text) <= max) return { text, cut: false };
    const bytes = Buffer.from(text);
    let end = max;
    while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--; // not inside a character
    return { text: this.#marked(bytes.toString('utf8', 0, end)), cut: true };
  }

  #marked(text: string): string {
    return `${text} …[cut at ${this.#options.settings.maxLineBytes} bytes]`;
  }

  #keep(text: string): void {
    this.#stderrTail.push(text);
    if (this.#stderrTail.length > this.#options.stderrTailLines) this.#stderrTail.shift();
  }

  #fields(stream: OutputStream): Record<string, unknown> {
    return { workerId: this.#options.workerId, workerPid: this.#options.workerPid, stream };
  }

  #write(level: LogLevel, message: string, fields: LogFields): void {
    if (level === 'silent') return;
    try {
      this.#options.logger[level](message, fields);
    } catch {
      // A logger that throws is its owner's to fix: it must not take the worker (or the host) down with it.
    }
  }
}

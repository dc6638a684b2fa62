// A Python `logging` record as the runtime sends it to the host: the body of
// a stdio worker's LOG frame, or one line of a managed gRPC server's log
// channel (docs/protocol.md, "Log records"). Bytes from a worker are
// untrusted: the decoder is bounded and typed, and refuses anything else.

import { type LogLevel, ProtocolError, type PythonLoggingLevel } from '@snakebridge/core';

/** Largest record the host reads, in bytes (a LOG frame's body, or a line); the runtime cuts messages to fit. */
export const LOG_RECORD_MAX_BYTES = 1024 * 1024;

/** A `logging` record from a worker. */
export interface PythonLogRecord {
  /** Python's number for its level: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL, or a custom one. */
  readonly level: number;
  /** Python's name for it: `WARNING`, or a custom level's name. */
  readonly levelName: string;
  /** The logger's name: `noisy_job`, `urllib3.connectionpool`, `root`. */
  readonly logger: string;
  /** The message, formatted, with the exception's traceback (and stack) when the record has one. */
  readonly message: string;
  /**
   * The call running in the thread or task that made the record, if one was.
   * With its trace context, when it came with one: the ids for log correlation.
   */
  readonly call?:
    | {
        readonly target: string;
        /** The trace the record belongs to, when the call came with a trace context. */
        readonly traceId?: string;
        /** The span current where the record was made: Python's, or the host's span of the call. */
        readonly spanId?: string;
      }
    | undefined;
}

const PYTHON_LEVELS: Readonly<Record<PythonLoggingLevel, number | undefined>> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  off: undefined,
};

/**
 * The Python level a runtime forwards `logging` records from, for the
 * `python.output.logging` setting: what a stdio worker's HELLO (`logRecords`)
 * and a managed server's `--log-records` carry; undefined for `off`.
 */
export function forwardedPythonLevel(setting: PythonLoggingLevel): number | undefined {
  return PYTHON_LEVELS[setting];
}

/** The host's level for a Python level: DEBUG debug, INFO info, WARNING warn, ERROR and CRITICAL error. */
export function hostLevel(pythonLevel: number): Exclude<LogLevel, 'silent'> {
  if (pythonLevel >= 40) return 'error';
  if (pythonLevel >= 30) return 'warn';
  if (pythonLevel >= 20) return 'info';
  return 'debug';
}

/**
 * The record in `body` (UTF-8 JSON, or the JSON text itself). Keys it does
 * not know are ignored, so that a newer runtime can add some.
 *
 * @throws ProtocolError saying what is wrong: too large, not JSON, or a field missing or of the wrong type.
 */
export function parseLogRecord(body: Uint8Array | string): PythonLogRecord {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > LOG_RECORD_MAX_BYTES) {
    throw refusal(`it is ${size} bytes, more than a record may be (${LOG_RECORD_MAX_BYTES})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch (error) {
    throw refusal(`it is not JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw refusal('it is not a JSON object');
  const { level, levelName, logger, message, call } = parsed;
  if (typeof level !== 'number' || !Number.isSafeInteger(level) || level < 0) {
    throw refusal('its level is not a non-negative integer');
  }
  for (const [name, value] of [
    ['levelName', levelName],
    ['logger', logger],
    ['message', message],
  ] as const) {
    if (typeof value !== 'string') throw refusal(`its ${name} is not a string`);
  }
  const record = { level, levelName, logger, message } as {
    level: number;
    levelName: string;
    logger: string;
    message: string;
  };
  if (call === undefined || call === null) return record;
  if (!isObject(call) || typeof call.target !== 'string') throw refusal('its call is not an object with a target');
  const { traceId, spanId } = call;
  if (traceId === undefined && spanId === undefined) return { ...record, call: { target: call.target } };
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) throw refusal('its call traceId is not 32 hex digits');
  if (typeof spanId !== 'string' || !SPAN_ID.test(spanId)) throw refusal('its call spanId is not 16 hex digits');
  return { ...record, call: { target: call.target, traceId, spanId } };
}

/** W3C trace context ids, as lowercase hex (https://www.w3.org/TR/trace-context/#trace-id). */
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refusal(why: string): ProtocolError {
  return new ProtocolError(
    `A log record from a Python worker was refused: ${why}. Install matching versions of the ` +
      'snakebridge Python package and @snakebridge/process-pool, or find what writes to its log channel.',
  );
}

// The host's decoder of Python `logging` records against the golden vectors
// shared with Python (vectors/protocol/log-records.json): what the runtime
// writes is read as the same record, anything else refused, typed and bounded.

import { readFileSync } from 'node:fs';
import { ProtocolError } from '@snakebridge/core';
import { describe, expect, it } from 'vitest';
import { hostLevel, LOG_RECORD_MAX_BYTES, type PythonLogRecord, parseLogRecord } from '../src/index.js';

interface RecordVector {
  readonly name: string;
  readonly body: string;
  readonly record: PythonLogRecord;
  readonly hostLevel: string;
}

const document = JSON.parse(
  readFileSync(new URL('../../../vectors/protocol/log-records.json', import.meta.url), 'utf8'),
) as { vectors: RecordVector[]; tolerated: RecordVector[]; invalid: { name: string; body: string; refusal: string }[] };

/** The ProtocolError `run` throws; fails the test if it throws something else, or nothing. */
function refusal(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    if (ProtocolError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ProtocolError');
}

describe('log record golden vectors', () => {
  it.each([...document.vectors, ...document.tolerated].map((v) => [v.name, v] as const))(
    'reads %s',
    (_name, vector) => {
      const record = parseLogRecord(Buffer.from(vector.body, 'utf8'));
      expect(record).toEqual(vector.record);
      expect(hostLevel(record.level)).toBe(vector.hostLevel);
      expect(parseLogRecord(vector.body)).toEqual(vector.record); // a line of text reads the same
    },
  );

  it.each(document.invalid.map((v) => [v.name, v] as const))('refuses %s, saying why', (_name, vector) => {
    const error = refusal(() => parseLogRecord(Buffer.from(vector.body, 'utf8')));
    expect(error.code).toBe('PROTOCOL');
    expect(error.message).toContain(vector.refusal);
  });
});

describe('parseLogRecord', () => {
  it('refuses a record larger than LOG_RECORD_MAX_BYTES before reading it', () => {
    const body = `{"level":20,"levelName":"INFO","logger":"x","message":"${'m'.repeat(LOG_RECORD_MAX_BYTES)}"}`;
    expect(refusal(() => parseLogRecord(body)).message).toMatch(/more than a record may be \(1048576\)/);
  });

  it('maps Python levels to the host levels: DEBUG debug, INFO info, WARNING warn, ERROR and CRITICAL error', () => {
    expect([10, 20, 30, 40, 50].map(hostLevel)).toEqual(['debug', 'info', 'warn', 'error', 'error']);
  });
});

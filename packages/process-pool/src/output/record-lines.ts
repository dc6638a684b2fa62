// Reads log records written one JSON object per line: a managed gRPC
// server's log channel (its --log-fd), which has no frames. Bounded: a line
// longer than a record may be is dropped as it arrives, never buffered.

import type { Readable } from 'node:stream';
import { LOG_RECORD_MAX_BYTES, type PythonLogRecord, parseLogRecord } from './log-record.js';

/**
 * Reads `stream` to its end: `onRecord` gets each record, `onRefused` why a
 * line was not one (too long, not JSON, not a record). A refused line is
 * skipped; the lines after it are read as usual, since each ends with '\n'.
 */
export function readRecordLines(
  stream: Readable,
  onRecord: (record: PythonLogRecord) => void,
  onRefused: (why: string) => void,
): void {
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  const endLine = (): void => {
    if (tooLong) onRefused(`a log record longer than ${LOG_RECORD_MAX_BYTES} bytes was dropped`);
    else if (size > 0) parse(Buffer.concat(parts, size));
    parts = [];
    size = 0;
    tooLong = false;
  };
  const parse = (line: Buffer): void => {
    let record: PythonLogRecord;
    try {
      record = parseLogRecord(line);
    } catch (error) {
      onRefused((error as Error).message);
      return;
    }
    onRecord(record);
  };
  const append = (bytes: Buffer): void => {
    if (tooLong || bytes.length === 0) return;
    if (size + bytes.length > LOG_RECORD_MAX_BYTES) {
      tooLong = true;
      parts = [];
      size = 0;
      return;
    }
    parts.push(Buffer.from(bytes));
    size += bytes.length;
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      append(chunk.subarray(start, end));
      endLine();
      start = end + 1;
    }
    append(chunk.subarray(start));
  });
  stream.on('end', () => {
    if (size > 0 || tooLong) endLine();
  });
}

// The segment table at the end of a CALL, RESULT or ITEM body that has the
// SEGMENTS flag (docs/protocol.md, "Shared memory"): which shared-memory
// segments the value in the body names, by index. Mirrors
// python/snakebridge/protocol/segments.py.

import { MalformedFrameError } from './frames.js';

/** Bytes per entry: the sender's file descriptor (u32), 4 reserved zero bytes, the segment's length (u64). */
export const SEGMENT_ENTRY_BYTES = 16;
/** Most segments one frame may name: a table is read (and its segments opened) before anything else. */
export const MAX_SEGMENTS = 1024;

/** One segment: a file descriptor of the process that sent the frame, and the exact length of the file. */
export interface SegmentEntry {
  readonly ref: number;
  readonly byteLength: number;
}

/** The table for `entries`: each entry, then their count (u32), to be written after the body. */
export function encodeSegmentTable(entries: readonly SegmentEntry[]): Buffer {
  const table = Buffer.alloc(entries.length * SEGMENT_ENTRY_BYTES + 4);
  entries.forEach((entry, i) => {
    table.writeUInt32LE(entry.ref, i * SEGMENT_ENTRY_BYTES);
    table.writeBigUInt64LE(BigInt(entry.byteLength), i * SEGMENT_ENTRY_BYTES + 8);
  });
  table.writeUInt32LE(entries.length, entries.length * SEGMENT_ENTRY_BYTES);
  return table;
}

/**
 * The body without its table, and the table's entries.
 *
 * @throws MalformedFrameError (`body`) for a table that does not fit the body,
 *   names no segment or more than MAX_SEGMENTS, sets reserved bytes, or gives
 *   a length beyond what a JavaScript number holds exactly.
 */
export function splitSegmentTable(body: Uint8Array): { body: Uint8Array; entries: SegmentEntry[] } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.byteLength < 4) throw malformed('is shorter than its count');
  const count = view.getUint32(body.byteLength - 4, true);
  if (count === 0 || count > MAX_SEGMENTS) throw malformed(`names ${count} segments (1 to ${MAX_SEGMENTS} allowed)`);
  const start = body.byteLength - 4 - count * SEGMENT_ENTRY_BYTES;
  if (start < 0) throw malformed(`of ${count} segments runs past the start of the body`);
  const entries: SegmentEntry[] = [];
  for (let at = start; at < body.byteLength - 4; at += SEGMENT_ENTRY_BYTES) {
    if (view.getUint32(at + 4, true) !== 0) throw malformed('has reserved bytes that are not 0');
    const byteLength = view.getBigUint64(at + 8, true);
    if (byteLength > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`gives a length of ${byteLength} bytes`);
    entries.push({ ref: view.getUint32(at, true), byteLength: Number(byteLength) });
  }
  return { body: body.subarray(0, start), entries };
}

function malformed(what: string): MalformedFrameError {
  return new MalformedFrameError('body', `a segment table that ${what}`);
}

// Writes Arrow streams into an encoded message in place of small placeholders.
//
// The msgpack extension hook takes a payload as one Uint8Array and copies it
// twice more on its way into the message. For a table of many megabytes that
// is most of the cost of encoding it, so the Arrow extension hands msgpack a
// 16-byte placeholder instead, and the message is then written out once with
// each stream's chunks (views of the column buffers) in place of its
// placeholder: every column byte is copied exactly once.
//
// A placeholder is fixext 16 of type 85: a random marker of this process,
// never sent anywhere, and the index of the stream it stands for. Only
// placeholders that msgpack writes into the message itself can be replaced:
// the payloads of Map and Set extensions are packed on their own and their
// lengths are fixed, so tables inside those travel as whole payloads instead
// (see ArrowSerializer).

import { webcrypto } from 'node:crypto';
import type { ArrowStream } from './ipc.js';
import { ARROW_EXT_TYPE, payloadHead, STREAM_OFFSET } from './payload.js';

/** fixext 16 */
const FIXEXT16 = 0xd8;
const MARKER_BYTES = 12;
/** fixext 16 header, the marker, the stream's index (u32 little-endian). */
export const PLACEHOLDER_BYTES = 2 + MARKER_BYTES + 4;

/** The bytes a placeholder starts with in a message: header, type, this process's marker. */
const NEEDLE = Buffer.alloc(2 + MARKER_BYTES);
NEEDLE[0] = FIXEXT16;
NEEDLE[1] = ARROW_EXT_TYPE;
webcrypto.getRandomValues(NEEDLE.subarray(2));

/** A stream to write where its placeholder is, with its payload's kind and form bytes. */
export interface PendingStream {
  readonly kind: number;
  readonly form: number;
  readonly stream: ArrowStream;
}

/** The 16-byte extension payload standing for stream `index`. */
export function placeholderPayload(index: number): Uint8Array {
  const payload = new Uint8Array(MARKER_BYTES + 4);
  payload.set(NEEDLE.subarray(2));
  new DataView(payload.buffer).setUint32(MARKER_BYTES, index, true);
  return payload;
}

/** The size of the ext header msgpack uses for a payload of `length` bytes (ext 8, 16 or 32). */
function extHeaderBytes(length: number): number {
  if (length < 0x100) return 3;
  return length < 0x10000 ? 4 : 6;
}

function writeExtHeader(out: Uint8Array, at: number, length: number): number {
  if (length < 0x100) {
    out[at] = 0xc7;
    out[at + 1] = length;
    out[at + 2] = ARROW_EXT_TYPE;
    return at + 3;
  }
  if (length < 0x10000) {
    out[at] = 0xc8;
    out[at + 1] = length >> 8;
    out[at + 2] = length & 0xff;
    out[at + 3] = ARROW_EXT_TYPE;
    return at + 4;
  }
  out[at] = 0xc9;
  new DataView(out.buffer, out.byteOffset).setUint32(at + 1, length);
  out[at + 5] = ARROW_EXT_TYPE;
  return at + 6;
}

/**
 * `message` with each placeholder replaced by its stream's payload. Every
 * stream must have exactly one placeholder in the message.
 */
export function spliceStreams(message: Uint8Array, pending: readonly PendingStream[]): Uint8Array {
  const source = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const found: { at: number; index: number }[] = [];
  const seen = new Set<number>();
  for (let at = source.indexOf(NEEDLE); at !== -1; at = source.indexOf(NEEDLE, at + PLACEHOLDER_BYTES)) {
    const index = source.readUInt32LE(at + NEEDLE.byteLength);
    if (index >= pending.length || seen.has(index)) throw new Error(`a stray Arrow placeholder (${index})`);
    seen.add(index);
    found.push({ at, index });
  }
  if (found.length !== pending.length) {
    throw new Error(`${pending.length} Arrow streams were encoded, but ${found.length} placeholders were found`);
  }

  let total = message.byteLength - found.length * PLACEHOLDER_BYTES;
  for (const { stream } of pending) {
    const length = STREAM_OFFSET + stream.byteLength;
    total += extHeaderBytes(length) + length;
  }
  // Every byte is written below, padding included, so the buffer need not be zeroed first.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(total).buffer, 0, total);
  let written = 0;
  let read = 0;
  for (const { at, index } of found) {
    out.set(message.subarray(read, at), written);
    written += at - read;
    read = at + PLACEHOLDER_BYTES;
    const { kind, form, stream } = pending[index] as PendingStream;
    written = writeExtHeader(out, written, STREAM_OFFSET + stream.byteLength);
    out.set(payloadHead(kind, form), written);
    written += STREAM_OFFSET;
    for (const chunk of stream.chunks) {
      out.set(chunk, written);
      written += chunk.byteLength;
    }
  }
  out.set(message.subarray(read), written);
  written += message.byteLength - read;
  if (written !== total) throw new Error(`the spliced message is ${written} bytes, not ${total}`);
  return out;
}

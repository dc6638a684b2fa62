// Checks the structure of untrusted msgpack before msgpackr builds anything
// from it. msgpackr recurses once per level of nesting and reads some
// extension types itself (records, structured-clone references, Errors,
// RegExps, typed arrays, bundled strings), none of which SnakeBridge ever
// writes. This walk is iterative, so it bounds the nesting before msgpackr
// recurses, and it refuses every extension type the serializer does not
// decode, so msgpackr's own never run on bytes from a worker. It also checks
// every declared length and count against the bytes that are left, so
// nothing downstream sizes an allocation from a count the input cannot back.
//
// Its cost is one pass over the headers: strings, binary and opaque
// extension payloads are skipped, not read.

import { MAX_NESTING_DEPTH, NESTING_REFUSAL, SerializationError } from '@snakebridge/core';
import { MsgpackExtType } from './ext-types.js';

/** How the scan treats the payload of an extension type. */
export const ExtPayload = {
  /** Opaque bytes, checked by the type's own decoder (bigint, ndarray, an added extension). */
  opaque: 0,
  /** One msgpack value that is a container of the value: a set's array, a Map's map. */
  container: 1,
  /** One msgpack value that is part of a leaf (a handle's `[id, type, repr]`): no level of its own. */
  leaf: 2,
} as const;

export type ExtPayloadKind = (typeof ExtPayload)[keyof typeof ExtPayload];

/** The extension types SnakeBridge's msgpack carries, and how their payloads are scanned. */
export const OWN_EXT_PAYLOADS: ReadonlyMap<number, ExtPayloadKind> = new Map([
  [MsgpackExtType.bigint, ExtPayload.opaque],
  [MsgpackExtType.set, ExtPayload.container],
  [MsgpackExtType.map, ExtPayload.container],
  [MsgpackExtType.ndarray, ExtPayload.opaque],
  [MsgpackExtType.sharedNdarray, ExtPayload.opaque],
  [MsgpackExtType.handle, ExtPayload.leaf],
  [MsgpackExtType.callback, ExtPayload.leaf],
]);

/** What a scan found. `items` (headers read) never exceeds the input's length: the fuzz tests check it. */
export interface ScanReport {
  readonly items: number;
  readonly depth: number;
}

/** What a frame on the scan's stack is. */
const Kind = {
  /** An array or map of the value: one level of nesting. */
  level: 0,
  /** An extension payload: exactly one value, ending where the payload ends. */
  payload: 1,
  /** A handle's `[id, type, repr]`: scalars only, and no level of its own. */
  leaf: 2,
} as const;

/**
 * The most frames open at once: every level is at most an extension payload
 * and the array or map it must hold, plus a handle's payload and its array,
 * plus the input.
 */
const MAX_FRAMES = 2 * MAX_NESTING_DEPTH + 4;

// One stack for every scan: a scan runs to completion without calling out, so
// scans never overlap, and small decodes (most calls) allocate nothing here.
/** Values still to read in each open frame (counts go up to 2^33). */
const remaining = new Float64Array(MAX_FRAMES);
/** For a payload frame, where the enclosing payload (or the input) ends. */
const outerEnd = new Float64Array(MAX_FRAMES);
const kinds = new Uint8Array(MAX_FRAMES);

/** Sizes of the fixed-size scalars after their header byte, by header (0 for the rest). */
const FIXED = new Uint8Array(256);
for (const [header, size] of [
  [0xca, 4],
  [0xcb, 8],
  [0xcc, 1],
  [0xcd, 2],
  [0xce, 4],
  [0xcf, 8],
  [0xd0, 1],
  [0xd1, 2],
  [0xd2, 4],
  [0xd3, 8],
] as const) {
  FIXED[header] = size;
}

// The scan's state. A scan runs to completion without calling out, so scans
// never overlap: module state costs nothing per call, where closures or an
// object per scan would cost more than scanning a small call's bytes.
let input: Uint8Array = new Uint8Array(0);
let known: ReadonlyMap<number, ExtPayloadKind> = OWN_EXT_PAYLOADS;
let pos = 0;
/** Where the innermost open extension payload (or the input) ends. */
let end = 0;
let depth = 0;
let maxDepth = 0;
let top = 0;
/** What the next value is the payload of: a Set or Map (an array or map), a handle or callback (scalars). */
let payloadNext: ExtPayloadKind = ExtPayload.opaque;

/**
 * Checks that `bytes` hold exactly one well-formed msgpack value whose
 * extension types are all in `extensions` (or the timestamp), nested at most
 * MAX_NESTING_DEPTH deep, with every length and count within the input.
 *
 * @throws SerializationError naming what is wrong and the byte where it was found.
 */
export function scanMsgpack(bytes: Uint8Array, extensions: ReadonlyMap<number, ExtPayloadKind>): ScanReport {
  input = bytes;
  known = extensions;
  pos = 0;
  end = bytes.byteLength;
  depth = 0;
  maxDepth = 0;
  top = 0;
  payloadNext = ExtPayload.opaque;
  remaining[0] = 1;
  outerEnd[0] = end;
  kinds[0] = Kind.payload;
  let items = 0;
  try {
    while (top >= 0) {
      if (remaining[top] === 0) closeFrame();
      else {
        (remaining[top] as number) -= 1;
        items += 1;
        readValue();
      }
    }
    return { items, depth: maxDepth };
  } finally {
    input = EMPTY; // do not keep the caller's bytes alive
  }
}

const EMPTY = new Uint8Array(0);

function closeFrame(): void {
  const kind = kinds[top];
  if (kind === Kind.level) depth -= 1;
  else if (kind === Kind.payload) {
    if (pos !== end) fail(pos, `${end - pos} bytes follow the value where there should be none`);
    end = outerEnd[top] as number;
  }
  top -= 1;
}

/** Reads one value's header: skips a scalar, or opens the array, map or payload it starts. */
function readValue(): void {
  const at = pos;
  if (at >= end) fail(at, 'a value is cut short');
  const byte = input[at] as number;
  const payload = payloadNext;
  payloadNext = ExtPayload.opaque;
  if (payload !== ExtPayload.opaque || kinds[top] === Kind.leaf) checkPayloadValue(at, byte, payload);
  const leaf = payload === ExtPayload.leaf;
  if (byte <= 0x7f || byte >= 0xe0 || byte === 0xc0 || byte === 0xc2 || byte === 0xc3) pos = at + 1;
  else if (byte >= 0xa0 && byte <= 0xbf) skip(at + 1, byte & 0x1f);
  else if (FIXED[byte] !== 0) skip(at + 1, FIXED[byte] as number);
  else if (byte <= 0x8f) open(at + 1, 2 * (byte & 0x0f), leaf);
  else if (byte <= 0x9f) open(at + 1, byte & 0x0f, leaf);
  else readLong(at, byte, leaf);
}

/**
 * What an extension payload may hold: a Set's or Map's, an array or map; a
 * handle's or callback reference's, scalars or one array of scalars. That
 * keeps every payload and the array in it to one level of nesting at most.
 */
function checkPayloadValue(at: number, byte: number, payload: ExtPayloadKind): void {
  if (payload === ExtPayload.container) {
    if (!isArrayOrMap(byte)) fail(at, 'a Set or Map extension must hold an array or map');
  } else if (isArrayOrMap(byte) ? kinds[top] === Kind.leaf : isExt(byte)) {
    fail(at, 'a handle or callback reference holds only scalars');
  }
}

function isExt(byte: number): boolean {
  return (byte >= 0xc7 && byte <= 0xc9) || (byte >= 0xd4 && byte <= 0xd8);
}

/** Headers with a length or count after them: str, bin, ext, array and map 8/16/32, and fixext. */
function readLong(at: number, byte: number, leaf: boolean): void {
  if (byte === 0xc4 || byte === 0xd9) skip(at + 2, uint(at + 1, 1));
  else if (byte === 0xc5 || byte === 0xda) skip(at + 3, uint(at + 1, 2));
  else if (byte === 0xc6 || byte === 0xdb) skip(at + 5, uint(at + 1, 4));
  else if (byte === 0xc7) readExt(at + 3, uint(at + 1, 1), at + 2);
  else if (byte === 0xc8) readExt(at + 4, uint(at + 1, 2), at + 3);
  else if (byte === 0xc9) readExt(at + 6, uint(at + 1, 4), at + 5);
  else if (byte >= 0xd4 && byte <= 0xd8) readExt(at + 2, 1 << (byte - 0xd4), at + 1);
  else if (byte === 0xdc) open(at + 3, uint(at + 1, 2), leaf);
  else if (byte === 0xdd) open(at + 5, uint(at + 1, 4), leaf);
  else if (byte === 0xde) open(at + 3, 2 * uint(at + 1, 2), leaf);
  else if (byte === 0xdf) open(at + 5, 2 * uint(at + 1, 4), leaf);
  else fail(at, `0x${byte.toString(16)} is not a msgpack value`);
}

/** A big-endian unsigned integer of `size` bytes at `at`, which must be in the input. */
function uint(at: number, size: number): number {
  if (at + size > end) fail(at, 'a header is cut short');
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + (input[at + i] as number);
  return value;
}

/** Skips `length` bytes from `from`, which must all be in the input. */
function skip(from: number, length: number): void {
  if (length > end - from) fail(from, `${length} bytes are declared, but only ${Math.max(0, end - from)} are left`);
  pos = from + length;
}

/** Opens an array, or a map (`values` counts keys and values); each value takes at least a byte. */
function open(from: number, values: number, leaf: boolean): void {
  if (values > end - from) {
    fail(from, `${values} values are declared, but only ${Math.max(0, end - from)} bytes are left`);
  }
  pos = from;
  if (!leaf) {
    depth += 1;
    if (depth > MAX_NESTING_DEPTH) fail(from - 1, NESTING_REFUSAL);
    if (depth > maxDepth) maxDepth = depth;
  }
  push(values, leaf ? Kind.leaf : Kind.level);
}

function push(values: number, kind: number): void {
  // Cannot happen given the checks above; written out so that a gap in them could never write past the stack.
  if (top + 1 >= MAX_FRAMES) fail(pos, NESTING_REFUSAL);
  top += 1;
  remaining[top] = values;
  kinds[top] = kind;
}

function isArrayOrMap(byte: number): boolean {
  return (byte >= 0x80 && byte <= 0x9f) || (byte >= 0xdc && byte <= 0xdf);
}

/** An extension with its type at `typeAt` and `length` bytes of payload at `from`. */
function readExt(from: number, length: number, typeAt: number): void {
  if (typeAt >= end) fail(typeAt, 'a header is cut short');
  const type = ((input[typeAt] as number) << 24) >> 24;
  skip(from, length);
  if (type === MsgpackExtType.timestamp) {
    checkTimestamp(from, length);
    return;
  }
  const kind = known.get(type);
  if (kind === undefined) fail(typeAt, `extension type ${type} is not known`);
  if (kind === ExtPayload.opaque) return;
  // The payload is one msgpack value of its own: scanned in place.
  push(1, Kind.payload);
  outerEnd[top] = end;
  pos = from;
  end = from + length;
  payloadNext = kind;
}

/** The timestamp extension: 32, 64 or 96 bits, with nanoseconds below a second (msgpack-python requires it). */
function checkTimestamp(from: number, length: number): void {
  if (length !== 4 && length !== 8 && length !== 12) fail(from, `a timestamp of ${length} bytes`);
  if (length === 4) return;
  const word = uint(from, 4);
  const nanoseconds = length === 8 ? Math.floor(word / 4) : word;
  if (nanoseconds > 999_999_999) fail(from, `a timestamp of ${nanoseconds} nanoseconds`);
}

function fail(at: number, message: string): never {
  throw new SerializationError('msgpack', `not valid msgpack: ${message}`, `byte ${at}`);
}

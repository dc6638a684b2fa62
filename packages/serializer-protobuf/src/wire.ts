// Small pieces both codecs share: 64-bit integers between bigint and
// protobufjs's {low, high} form, strings made safe for UTF-8, and the errors
// that say where a value went wrong.

import { SerializationError } from '@snakebridge/core';
import type protobuf from 'protobufjs';

/** The serializer id, which prefixes every error message. */
export const FORMAT = 'protobuf';

export type Reader = protobuf.Reader;
export type Writer = protobuf.Writer;

/** Wire types (the low three bits of a tag). */
export const WireType = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** The 64-bit pattern of an integer in the int64 or uint64 range, as protobufjs's writers take it. */
export interface LongLike {
  readonly low: number;
  readonly high: number;
}

export function toLong(value: bigint): LongLike {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0 };
}

/** The integer a 64-bit pattern (a protobufjs Long) stands for. */
export function fromLong(long: LongLike, unsigned: boolean): bigint {
  const bits = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  return unsigned ? bits : BigInt.asIntN(64, bits);
}

/** A signed 64-bit pattern as a number when that is exact, else as a bigint. */
export function numberOrBigInt(long: LongLike): number | bigint {
  // Exact whenever |value| < 2^53; beyond that the sum rounds to a value that is not safe either.
  const number = long.high * 4294967296 + (long.low >>> 0);
  return Number.isSafeInteger(number) ? number : fromLong(long, false);
}

export function isSafeBigInt(value: bigint): boolean {
  return value >= SAFE_MIN && value <= SAFE_MAX;
}

/** Two's complement, big-endian, in the fewest bytes that keep the sign. */
export function bigIntToBytes(value: bigint): Uint8Array {
  const magnitude = value < 0n ? -value - 1n : value;
  const bits = magnitude === 0n ? 0 : magnitude.toString(2).length;
  const length = Math.floor(bits / 8) + 1;
  // Through hex, in time linear in the length (a loop of 8-bit shifts would be quadratic).
  const hex = BigInt.asUintN(length * 8, value)
    .toString(16)
    .padStart(length * 2, '0');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The integer of a two's complement, big-endian byte string; through hex, in time linear in its length. */
export function bigIntFromBytes(bytes: Uint8Array): bigint {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return BigInt.asIntN(bytes.length * 8, BigInt(`0x${hex}`));
}

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * The string with lone surrogates replaced by U+FFFD, as TextEncoder and the
 * JSON serializer do: protobuf strings are UTF-8, which cannot hold them, and
 * protobufjs would otherwise write bytes Python refuses.
 */
export function wellFormed(text: string): string {
  const checked = text as unknown as WellFormed;
  return checked.isWellFormed() ? text : checked.toWellFormed();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A plain Uint8Array over the same memory (a Buffer's subarray and slice would be Buffers). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// protobufjs reads 64-bit integers as Long objects only when it can load the
// `long` package (not under every bundler or test runner); otherwise as lossy
// numbers. These read the bits themselves.

/** A varint of up to 64 bits (int64, uint64 and friends). */
export function readVarint64(reader: Reader): LongLike {
  const buf = reader.buf as Uint8Array;
  let pos = reader.pos;
  let low = 0;
  let high = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= reader.len) throw malformed(reader, 'a varint runs past the end of the input');
    const byte = buf[pos++] as number;
    const bits = byte & 0x7f;
    if (i < 4) low |= bits << (7 * i);
    else if (i === 4) {
      low |= bits << 28;
      high |= bits >>> 4;
    } else high |= bits << (7 * i - 32);
    if (byte < 0x80) {
      reader.pos = pos;
      return { low: low | 0, high: high | 0 };
    }
  }
  throw malformed(reader, 'a varint longer than 10 bytes');
}

/** A zigzag-encoded varint (sint64). */
export function readZigZag64(reader: Reader): LongLike {
  const { low, high } = readVarint64(reader);
  const mask = -(low & 1);
  return { low: ((low >>> 1) | (high << 31)) ^ mask, high: (high >>> 1) ^ mask };
}

/** Eight little-endian bytes (fixed64, sfixed64). */
export function readFixed64(reader: Reader): LongLike {
  if (reader.pos + 8 > reader.len) throw malformed(reader, 'a fixed64 runs past the end of the input');
  const low = reader.fixed32();
  const high = reader.fixed32();
  return { low: low | 0, high: high | 0 };
}

/** Reads the length of a length-delimited field and returns where it ends, checking it is inside the input. */
export function delimitedEnd(reader: Reader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len) throw malformed(reader, `a field of ${length} bytes runs past the end of the input`);
  return end;
}

/** The bytes of a length-delimited field, as a view of the input. */
export function readView(reader: Reader): Uint8Array {
  const end = delimitedEnd(reader);
  const view = (reader.buf as Uint8Array).subarray(reader.pos, end);
  reader.pos = end;
  return view;
}

/** A length-delimited field read as UTF-8, refusing invalid sequences as protobuf requires. */
export function readString(reader: Reader): string {
  const view = readView(reader);
  try {
    return utf8.decode(view);
  } catch (error) {
    throw malformed(reader, 'a string is not valid UTF-8', error);
  }
}

/**
 * Skips a field of an unknown number. Only the four wire types proto3 uses:
 * groups (3 and 4), which protobufjs would skip by recursing once per level,
 * are refused, so no input can make skipping recurse.
 */
export function skipField(reader: Reader, wireType: number): void {
  switch (wireType) {
    case WireType.varint:
      readVarint64(reader);
      return;
    case WireType.fixed64:
      skipBytes(reader, 8, 'a fixed64');
      return;
    case WireType.bytes:
      reader.pos = delimitedEnd(reader);
      return;
    case WireType.fixed32:
      skipBytes(reader, 4, 'a fixed32');
      return;
    default:
      throw malformed(reader, `wire type ${wireType} is not supported (groups are not used)`);
  }
}

function skipBytes(reader: Reader, count: number, what: string): void {
  if (reader.pos + count > reader.len) throw malformed(reader, `${what} runs past the end of the input`);
  reader.pos += count;
}

/** Checks a field arrived with the wire type its declared type uses. */
export function expectWireType(reader: Reader, actual: number, expected: number, what: string): void {
  if (actual !== expected) {
    throw malformed(reader, `${what} arrived with wire type ${actual}, expected ${expected}`);
  }
}

/** The error for bytes that are not a valid encoding, naming where in the input it was noticed. */
export function malformed(reader: Reader, message: string, cause?: unknown): SerializationError {
  return new SerializationError(FORMAT, `not a valid encoding: ${message}`, `byte ${reader.pos}`, { cause });
}

/** The error for a value that cannot be encoded, naming where in the value it is. */
export function refuse(message: string, path: string): SerializationError {
  return new SerializationError(FORMAT, message, path === '' ? '(root)' : path);
}

/** A short description of a value for error messages: `"x"`, `12`, `5n`, `null`, `an array`. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const quoted = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
      return quoted;
    }
    case 'number':
    case 'boolean':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      break;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return 'a Uint8Array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value instanceof Date) return 'a Date';
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  const name = (value as object).constructor?.name;
  return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
}

/** A child path: `args.user` + `age` → `args.user.age`; numbers index. */
export function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

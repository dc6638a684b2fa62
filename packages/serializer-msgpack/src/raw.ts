// Pieces of msgpack that msgpackr would write differently from msgpack-python,
// or not at all, built here and written verbatim through one private class.
// Keeping these byte-for-byte equal to what Python writes is what lets both
// sides share one set of golden vectors.

import { addExtension } from 'msgpackr';
import { MsgpackExtType } from './ext-types.js';

/** Bytes msgpackr copies into its output as they are: a head and an optional body (kept apart to avoid a copy). */
export class RawMsgpack {
  readonly head: Uint8Array;
  readonly body: Uint8Array | undefined;

  constructor(head: Uint8Array, body?: Uint8Array) {
    this.head = head;
    this.body = body;
  }

  get byteLength(): number {
    return this.head.byteLength + (this.body?.byteLength ?? 0);
  }
}

type AllocateForWrite = (size: number) => { target: Uint8Array; position: number };

function writeRaw(raw: RawMsgpack, allocateForWrite: AllocateForWrite): undefined {
  const { target, position } = allocateForWrite(raw.byteLength);
  target.set(raw.head, position);
  if (raw.body !== undefined) target.set(raw.body, position + raw.head.byteLength);
  return undefined;
}

// msgpackr matches extension classes with instanceof; RawMsgpack is private to
// this package, so registering it changes nothing for other msgpackr users.
// msgpackr insists on a type number for `pack` extensions but never writes it
// here (writeRaw writes every byte); the decoder slot it also sets is claimed
// again by every decode (see decode.ts).
addExtension({
  Class: RawMsgpack,
  type: MsgpackExtType.ndarray,
  pack: writeRaw as unknown as (value: unknown) => Uint8Array,
});

function withView(size: number, write: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  write(new DataView(bytes.buffer), bytes);
  return bytes;
}

/** -0 as a float 64 (msgpackr would write the integer 0). */
export const NEGATIVE_ZERO = new RawMsgpack(
  withView(9, (view) => {
    view.setUint8(0, 0xcb);
    view.setFloat64(1, -0);
  }),
);

/** A safe integer beyond 32 bits as uint 64 or int 64, as msgpack-python writes it (msgpackr writes a float). */
export function int64Raw(value: number | bigint): RawMsgpack {
  const big = BigInt(value);
  return new RawMsgpack(
    withView(9, (view) => {
      if (big >= 0n) {
        view.setUint8(0, 0xcf);
        view.setBigUint64(1, big);
      } else {
        view.setUint8(0, 0xd3);
        view.setBigInt64(1, big);
      }
    }),
  );
}

/** The smallest ext header for a payload of `length` bytes (fixext when the length allows). */
export function extHeader(type: number, length: number): Uint8Array {
  const code = type & 0xff;
  const fixed = FIXEXT_CODES.get(length);
  if (fixed !== undefined) return Uint8Array.of(fixed, code);
  if (length < 0x100) return Uint8Array.of(0xc7, length, code);
  if (length < 0x10000) return Uint8Array.of(0xc8, length >> 8, length & 0xff, code);
  return withView(6, (view) => {
    view.setUint8(0, 0xc9);
    view.setUint32(1, length);
    view.setUint8(5, code);
  });
}

const FIXEXT_CODES: ReadonlyMap<number, number> = new Map([
  [1, 0xd4],
  [2, 0xd5],
  [4, 0xd6],
  [8, 0xd7],
  [16, 0xd8],
]);

/** An extension value whose payload is `head` followed by `body`. */
export function extRaw(type: number, head: Uint8Array, body?: Uint8Array): RawMsgpack {
  const header = extHeader(type, head.byteLength + (body?.byteLength ?? 0));
  const joined = new Uint8Array(header.byteLength + head.byteLength);
  joined.set(header);
  joined.set(head, header.byteLength);
  return new RawMsgpack(joined, body);
}

/** Bytes as msgpack bin, the body written straight from the caller's array. */
export function binRaw(bytes: Uint8Array): RawMsgpack {
  const length = bytes.byteLength;
  let head: Uint8Array;
  if (length < 0x100) head = Uint8Array.of(0xc4, length);
  else if (length < 0x10000) head = Uint8Array.of(0xc5, length >> 8, length & 0xff);
  else {
    head = withView(5, (view) => {
      view.setUint8(0, 0xc6);
      view.setUint32(1, length);
    });
  }
  return new RawMsgpack(head, bytes);
}

/**
 * A Date as the msgpack timestamp extension, in the smallest of its three
 * forms, chosen by the same rule as msgpack-python's Timestamp.to_bytes
 * (msgpackr switches to 96 bits at 2^32 seconds rather than 2^34).
 */
export function timestampRaw(milliseconds: number): RawMsgpack {
  const seconds = Math.floor(milliseconds / 1000);
  const nanoseconds = (milliseconds - seconds * 1000) * 1_000_000;
  if (seconds >= 0 && seconds < 2 ** 34) {
    if (nanoseconds === 0 && seconds < 2 ** 32) {
      return new RawMsgpack(withView(6, (view) => timestamp32(view, seconds)));
    }
    return new RawMsgpack(withView(10, (view) => timestamp64(view, seconds, nanoseconds)));
  }
  return new RawMsgpack(withView(15, (view) => timestamp96(view, seconds, nanoseconds)));
}

function timestamp32(view: DataView, seconds: number): void {
  view.setUint8(0, 0xd6);
  view.setInt8(1, MsgpackExtType.timestamp);
  view.setUint32(2, seconds);
}

function timestamp64(view: DataView, seconds: number, nanoseconds: number): void {
  view.setUint8(0, 0xd7);
  view.setInt8(1, MsgpackExtType.timestamp);
  // 30 bits of nanoseconds, then 34 bits of seconds.
  view.setUint32(2, nanoseconds * 4 + Math.floor(seconds / 2 ** 32));
  view.setUint32(6, seconds % 2 ** 32);
}

function timestamp96(view: DataView, seconds: number, nanoseconds: number): void {
  view.setUint8(0, 0xc7);
  view.setUint8(1, 12);
  view.setInt8(2, MsgpackExtType.timestamp);
  view.setUint32(3, nanoseconds);
  view.setBigInt64(7, BigInt(seconds));
}

/** The bigint extension's payload: two's complement, big-endian, in as few bytes as hold the sign. */
export function bigintPayload(value: bigint): Uint8Array {
  const magnitude = value < 0n ? ~value : value;
  const hex = magnitude.toString(16);
  const bits = magnitude === 0n ? 0 : (hex.length - 1) * 4 + (32 - Math.clz32(Number.parseInt(hex[0] ?? '0', 16)));
  const length = Math.floor((bits + 8) / 8);
  const unsigned = value < 0n ? value + (1n << BigInt(length * 8)) : value;
  return Uint8Array.from(Buffer.from(unsigned.toString(16).padStart(length * 2, '0'), 'hex'));
}

/** The bigint a bigint-extension payload holds. */
export function bigintFromPayload(payload: Uint8Array): bigint {
  if (payload.byteLength === 0) throw new RangeError('an empty bigint payload');
  const unsigned = BigInt(`0x${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('hex')}`);
  return (payload[0] ?? 0) & 0x80 ? unsigned - (1n << BigInt(payload.byteLength * 8)) : unsigned;
}

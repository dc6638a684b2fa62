// The msgpack extension types SnakeBridge writes, and the dtype codes inside
// its ndarray extension. python/snakebridge/serializers/msgpack.py uses the
// same numbers; vectors/serializers/msgpack.json pins them.

import type { DType } from '@snakebridge/core';

/** Extension type numbers; -1 is the msgpack spec's own timestamp. */
export const MsgpackExtType = {
  timestamp: -1,
  /** Integers msgpack ints cannot carry as such: JS bigints in the safe range, anything beyond 64 bits. */
  bigint: 80,
  set: 81,
  /** A JavaScript Map (a Python dict with any keys). */
  map: 82,
  ndarray: 83,
  handle: 84,
  /** A host function in call arguments: its index among the call's functions. */
  callback: 86,
  /** An ndarray whose elements travel in a shared-memory segment of the message (docs/protocol.md, "Shared memory"). */
  sharedNdarray: 87,
} as const;

/**
 * Types an extension may not use: ours, and those msgpackr's decoder handles
 * itself (borrowing one of those slots would break other msgpackr users in
 * the process; 0x72 is read as a record definition before any extension).
 */
export const RESERVED_EXT_TYPES: ReadonlySet<number> = new Set([
  0x00,
  0x42,
  0x62,
  0x65,
  0x69,
  0x70,
  0x72,
  0x73,
  0x74,
  0x78,
  MsgpackExtType.bigint,
  MsgpackExtType.set,
  MsgpackExtType.map,
  MsgpackExtType.ndarray,
  MsgpackExtType.handle,
  MsgpackExtType.callback,
  MsgpackExtType.sharedNdarray,
]);

/** The dtype each code in an ndarray header stands for (the order of DTYPES in ndarray.py). */
export const DTYPE_BY_CODE: readonly DType[] = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
];

/** Bytes before the shape in an ndarray payload: dtype code, ndim, data offset (u16 LE). */
export const NDARRAY_FIXED_HEADER = 4;

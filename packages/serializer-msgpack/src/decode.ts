// Finishes what msgpackr has unpacked into the values the type mapping
// promises (see the README).
//
// msgpackr is set to unpack every map as a Map, every int 64 as a bigint, and
// our extension types as PendingExt boxes; finish() then walks the result
// once: string-keyed maps become plain objects, safe bigints numbers, and each
// box its value. Extension payloads that are themselves msgpack (set, map,
// handle) are unpacked here, after the outer unpack has returned: unpacking
// inside msgpackr's extension hook would make it copy the whole input to save
// its state, once per extension value.

import {
  CallbackRef,
  type DecodeContext,
  type DType,
  HandleRef,
  type HandleWire,
  NDArray,
  SerializationError,
  SnakeBridgeError,
  type TypedArray,
  typedArrayFromBytes,
} from '@snakebridge/core';
import { addExtension, C1 } from 'msgpackr';
import { setOwn } from './encode.js';
import { DTYPE_BY_CODE, MsgpackExtType, NDARRAY_FIXED_HEADER } from './ext-types.js';
import type { MsgpackExtension } from './extension.js';
import { bigintFromPayload } from './raw.js';

/** An extension value as msgpackr hands it over: decoded by finish(). */
class PendingExt {
  readonly type: number;
  readonly payload: Uint8Array;

  constructor(type: number, payload: Uint8Array) {
    this.type = type;
    this.payload = payload;
  }
}

/** What finish() needs: the caller's context, the added extensions, and a way to unpack a payload. */
export interface DecodeState {
  readonly context: DecodeContext | undefined;
  readonly extensions: ReadonlyMap<number, MsgpackExtension>;
  readonly unpack: (bytes: Uint8Array) => unknown;
}

/** The decoder slots of our extension types, ready to hand to msgpackr. */
export function extensionSlots(types: Iterable<number>): readonly Parameters<typeof addExtension>[0][] {
  return [...types].map((type) => ({ type, unpack: (payload: Uint8Array) => new PendingExt(type, payload) }));
}

/**
 * msgpackr keeps one table of extension decoders for the whole process; any
 * other user may have put a decoder of theirs in one of our slots since we
 * last looked. Claiming them before each unpack costs a few assignments.
 */
export function claimSlots(slots: readonly Parameters<typeof addExtension>[0][]): void {
  for (const slot of slots) addExtension(slot);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The value the mapping promises for what msgpackr unpacked. */
export function finish(value: unknown, state: DecodeState): unknown {
  if (typeof value === 'bigint') return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return finishArray(value, state);
  if (value instanceof Map) return finishMap(value, state);
  if (value instanceof PendingExt) return decodeExt(value, state);
  if (value instanceof Uint8Array) return plainBytes(value);
  if (value === C1) throw malformed('0xc1 is not a msgpack value');
  // The scan lets no other extension through: this is a Date from the timestamp extension.
  if (Number.isNaN((value as Date).getTime())) throw malformed('a timestamp beyond the range of a JavaScript Date');
  return value;
}

// Arrays come fresh from msgpackr, so they are finished in place.
function finishArray(array: unknown[], state: DecodeState): unknown[] {
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if ((typeof item === 'object' && item !== null) || typeof item === 'bigint') array[i] = finish(item, state);
  }
  return array;
}

/** A map whose keys are all strings is a plain object; any other key makes it a Map. */
function finishMap(map: Map<unknown, unknown>, state: DecodeState): unknown {
  for (const key of map.keys()) {
    if (typeof key !== 'string') return finishEntries(map, state);
  }
  const object: Record<string, unknown> = {};
  // forEach rather than for…of: no [key, value] array per entry.
  map.forEach((item, key) => {
    setOwn(object, key as string, finishItem(item, state));
  });
  return object;
}

function finishEntries(map: Map<unknown, unknown>, state: DecodeState): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  map.forEach((item, key) => {
    out.set(finishItem(key, state), finishItem(item, state));
  });
  return out;
}

/** finish(), skipped for the strings and numbers that make up most values. */
function finishItem(item: unknown, state: DecodeState): unknown {
  return (typeof item === 'object' && item !== null) || typeof item === 'bigint' ? finish(item, state) : item;
}

/** Bin arrives as a view into the input, a Buffer when the input is one: give back a plain Uint8Array view. */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeExt(ext: PendingExt, state: DecodeState): unknown {
  switch (ext.type) {
    case MsgpackExtType.bigint:
      return bigintFromPayload(ext.payload);
    case MsgpackExtType.set:
      return new Set(expectArray(state.unpack(ext.payload), 'set').map((item) => finish(item, state)));
    case MsgpackExtType.map:
      return finishEntries(expectMap(state.unpack(ext.payload)), state);
    case MsgpackExtType.ndarray:
      return decodeNdarray(ext.payload);
    case MsgpackExtType.sharedNdarray:
      return decodeSharedNdarray(ext.payload, state.context?.segments);
    case MsgpackExtType.handle:
      return decodeHandle(state.unpack(ext.payload), state.context);
    case MsgpackExtType.callback:
      return decodeCallback(state.unpack(ext.payload));
    default:
      return decodeAdded(ext, state);
  }
}

function decodeAdded(ext: PendingExt, state: DecodeState): unknown {
  const extension = state.extensions.get(ext.type);
  if (extension === undefined) throw malformed(`extension type ${ext.type} is not known`);
  try {
    return extension.decode(ext.payload);
  } catch (error) {
    if (SnakeBridgeError.is(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new SerializationError(
      'msgpack',
      `extension type ${ext.type} could not decode its payload: ${reason}`,
      undefined,
      {
        cause: error,
      },
    );
  }
}

function decodeHandle(wire: unknown, context: DecodeContext | undefined): unknown {
  const fields = expectArray(wire, 'handle');
  const [id, type, repr] = fields;
  const validId = typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= 0xffffffff;
  if (!validId || typeof type !== 'string' || (repr !== undefined && typeof repr !== 'string') || fields.length > 3) {
    throw malformed('a handle needs [id, type, repr?] with an id from 1 to 2^32-1');
  }
  const handle: HandleWire = { id, type, repr: repr as string | undefined };
  return context?.handle ? context.handle(handle) : new HandleRef(handle);
}

function decodeCallback(index: unknown): CallbackRef {
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1) {
    throw malformed('a callback reference needs a positive integer index');
  }
  return new CallbackRef(index);
}

/** A typed array (1-D, not uint8) or an NDArray, viewing the payload's bytes unless they are misaligned. */
function decodeNdarray(payload: Uint8Array): unknown {
  const { dtype, shape, dataOffset } = ndarrayHeader(payload);
  // A plain Uint8Array view: typedArrayFromBytes copies misaligned bytes with
  // slice(), which on a Buffer would be one more view, not a copy.
  const bytes = new Uint8Array(payload.buffer, payload.byteOffset + dataOffset, payload.byteLength - dataOffset);
  return shaped(dtype, elements(dtype, bytes), shape);
}

/** An ndarray whose elements are a segment that came with the message: the header, then the segment's index. */
function decodeSharedNdarray(payload: Uint8Array, segments: readonly Uint8Array[] | undefined): unknown {
  const { dtype, shape, dataOffset } = ndarrayHeader(payload);
  if (payload.byteLength !== dataOffset + 4) throw malformed('a shared ndarray must end with its segment index');
  const index = new DataView(payload.buffer, payload.byteOffset + dataOffset, 4).getUint32(0, true);
  const segment = segments?.[index];
  if (segment === undefined) {
    throw malformed(`a shared ndarray names segment ${index}, which did not come with the message`);
  }
  return shaped(dtype, elements(dtype, segment), shape);
}

function ndarrayHeader(payload: Uint8Array): { dtype: DType; shape: number[]; dataOffset: number } {
  if (payload.byteLength < NDARRAY_FIXED_HEADER) throw malformed('an ndarray header is cut short');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const dtype = DTYPE_BY_CODE[view.getUint8(0)];
  const ndim = view.getUint8(1);
  const dataOffset = view.getUint16(2, true);
  if (dtype === undefined) throw malformed(`unknown dtype code ${view.getUint8(0)}`);
  if (dataOffset < NDARRAY_FIXED_HEADER + 4 * ndim || dataOffset > payload.byteLength) {
    throw malformed('an ndarray header does not fit its payload');
  }
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(NDARRAY_FIXED_HEADER + 4 * i, true));
  return { dtype, shape, dataOffset };
}

function shaped(dtype: DType, data: TypedArray, shape: number[]): unknown {
  if (data.length !== shape.reduce((product, size) => product * size, 1)) {
    throw malformed(`an ndarray of shape [${shape.join(', ')}] has ${data.length} elements`);
  }
  // One-dimensional arrays arrive as plain typed arrays, except uint8, which would read as bytes.
  return shape.length === 1 && dtype !== 'uint8' ? data : new NDArray(data, shape);
}

function elements(dtype: DType, bytes: Uint8Array): TypedArray {
  try {
    return typedArrayFromBytes(dtype, bytes);
  } catch (error) {
    throw malformed((error as Error).message);
  }
}

function expectArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(`a ${what} extension must hold an array`);
  return value;
}

function expectMap(value: unknown): Map<unknown, unknown> {
  if (!(value instanceof Map)) throw malformed('a map extension must hold a map');
  return value;
}

function malformed(message: string): SerializationError {
  return new SerializationError('msgpack', `not a valid SnakeBridge msgpack value: ${message}`);
}

// Turns a JavaScript value into one msgpackr can pack exactly as we mean it.
//
// msgpackr decides some things differently from msgpack-python (a safe integer
// above 32 bits becomes a float, -0 becomes 0, a Set an array), calls toJSON,
// and would loop forever on a cycle. So one walk first checks every value,
// names the path of anything refused, and swaps what msgpackr would get wrong
// for RawMsgpack bytes. Containers that need no change are passed on as they
// are (no copy); msgpackr then sees only null, booleans, strings, numbers it
// writes the way Python does, plain arrays and objects, and RawMsgpack.

import {
  bytesOfTypedArray,
  CallbackRef,
  dtypeOf,
  type EncodeContext,
  FUNCTION_REFUSED,
  type HandleRef,
  type HostFunction,
  MAX_NESTING_DEPTH,
  NDArray,
  NESTING_REFUSAL,
  proxyRefusal,
  type TypedArray,
  toHandleRef,
} from '@snakebridge/core';
import { DTYPE_BY_CODE, MsgpackExtType, NDARRAY_FIXED_HEADER } from './ext-types.js';
import type { MsgpackExtension } from './extension.js';
import { bigintPayload, binRaw, extRaw, int64Raw, NEGATIVE_ZERO, type RawMsgpack, timestampRaw } from './raw.js';

/** What the walk carries: the caller's context, and an estimate of the output size. */
export interface EncodeState {
  readonly context: EncodeContext | undefined;
  readonly extensions: readonly MsgpackExtension[];
  /** Packs a prepared value on its own: the payload of a set, map or handle extension. */
  readonly packPayload: (prepared: unknown, expectedBytes: number) => Uint8Array;
  /** Objects on the path from the root to here (below TRACKED_FROM), to catch cycles. */
  readonly ancestors: Set<object>;
  /** How many objects deep the walk is. */
  depth: number;
  /** A generous estimate of the encoded size, so the output buffer is allocated once. */
  size: number;
}

/** A value that cannot be sent; each container it is in adds its step to `steps` on the way out. */
export class Refusal extends Error {
  readonly steps: string[] = [];
}

/** The path of a refusal, in the JSON serializer's notation: `args[1].callback`. */
export function refusalPath(refusal: Refusal): string {
  const path = refusal.steps.join('');
  if (path === '') return '(root)';
  return path.startsWith('.') ? path.slice(1) : path;
}

function atStep(error: unknown, step: () => string): unknown {
  if (error instanceof Refusal) error.steps.unshift(step());
  return error;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** Depth from which objects are checked for cycles. */
const TRACKED_FROM = 32;
/** Bytes counted for each value besides strings and binary data (a float 64 takes 9). */
const VALUE_BYTES = 9;
/** The largest ext header: ext 32. */
const EXT_HEADER_BYTES = 6;

type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/** `value`, ready for msgpackr: the same value when nothing in it needs changing. */
export function prepare(value: unknown, state: EncodeState): unknown {
  state.size += VALUE_BYTES;
  switch (typeof value) {
    case 'number':
      return prepareNumber(value);
    case 'string':
      return prepareString(value, state);
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return prepareBigint(value);
    case 'symbol':
      throw new Refusal('a symbol cannot be sent to Python');
    default:
      return value === null ? null : prepareObject(value as object, state);
  }
}

function prepareNumber(value: number): unknown {
  if (!Number.isInteger(value)) return value; // float 64, NaN and ±Infinity included
  if (value >= -0x80000000 && value <= 0xffffffff) return Object.is(value, -0) ? NEGATIVE_ZERO : value;
  // An integral number beyond 2^53 is already a float in JavaScript: msgpackr sends it as the float 64 it is.
  return Number.isSafeInteger(value) ? int64Raw(value) : value;
}

// A lone surrogate would be written as invalid UTF-8, which Python refuses;
// replace it with U+FFFD, as TextEncoder (and so the JSON serializer) does.
function prepareString(value: string, state: EncodeState): string {
  state.size += value.length * 3; // msgpackr reserves 3 bytes a character before writing
  return (value as unknown as WellFormed).isWellFormed() ? value : (value as unknown as WellFormed).toWellFormed();
}

function prepareBigint(value: bigint): unknown {
  // Within ±(2^53 - 1) a msgpack int would come back as a number, so such bigints use the extension too.
  if ((value > MAX_SAFE && value <= UINT64_MAX) || (value < -MAX_SAFE && value >= INT64_MIN)) return int64Raw(value);
  return extRaw(MsgpackExtType.bigint, bigintPayload(value));
}

function prepareObject(object: object, state: EncodeState): unknown {
  const handle = toHandleRef(object);
  if (handle !== undefined) return prepareHandle(handle, state);
  if (typeof object === 'function') return prepareFunction(object as HostFunction, state);
  for (const extension of state.extensions) {
    if (extension.accepts(object)) return prepareExtension(extension, object, state);
  }
  return inside(object, state, () => prepareKnownObject(object, state));
}

// Only objects deeper than TRACKED_FROM are remembered: a cycle goes on forever,
// so it is still caught (a few laps in), and the shallow objects that make up
// most values cost no Set insert.
function inside<T>(object: object, state: EncodeState, prepareIt: () => T): T {
  const tracked = state.depth >= TRACKED_FROM;
  if (tracked && state.ancestors.has(object)) {
    throw new Refusal('the value contains a cycle, which msgpack cannot represent');
  }
  if (tracked) state.ancestors.add(object);
  state.depth += 1;
  try {
    return prepareIt();
  } finally {
    state.depth -= 1;
    if (tracked) state.ancestors.delete(object);
  }
}

function prepareKnownObject(object: object, state: EncodeState): unknown {
  if (Array.isArray(object)) return prepareArray(object, state);
  const prototype = Object.getPrototypeOf(object);
  if (prototype === Object.prototype || prototype === null) return prepareRecord(object, state, true);
  if (object instanceof Uint8Array) return prepareBytes(object, state);
  if (object instanceof NDArray) return prepareNdarray(object.data, object.shape, state);
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    return prepareNdarray(object as TypedArray, [(object as TypedArray).length], state);
  }
  if (object instanceof Date) return prepareDate(object);
  if (object instanceof Map) return prepareMap(object, state);
  if (object instanceof Set) return prepareSet(object, state);
  // After the common kinds: callback references are rare, and only in call arguments.
  if (object instanceof CallbackRef) return prepareCallback(object.index, state);
  const reason = refusedBuiltin(object);
  if (reason !== undefined) throw new Refusal(reason);
  // Any other class instance travels as its own enumerable properties, as in the JSON serializer.
  return prepareRecord(object, state, false);
}

function refusedBuiltin(object: object): string | undefined {
  if (object instanceof Promise) return 'a Promise cannot be sent to Python; await it first';
  if (object instanceof ArrayBuffer || object instanceof SharedArrayBuffer || object instanceof DataView) {
    return `a ${object.constructor.name} cannot be sent as it is; send a Uint8Array over its bytes`;
  }
  if (object instanceof WeakMap || object instanceof WeakSet || object instanceof WeakRef) {
    return `a ${object.constructor.name} cannot be sent to Python`;
  }
  if (object instanceof RegExp || object instanceof Error) {
    return `a ${object.constructor.name} cannot be sent to Python; send its parts as strings`;
  }
  return undefined;
}

/**
 * Refuses a container nested deeper than the decoders on both sides accept.
 * Only containers reach their prepare function with `state.depth` counting
 * themselves, so it is their level: `[[1]]`'s inner array is at 2.
 */
function checkLevel(state: EncodeState): void {
  if (state.depth > MAX_NESTING_DEPTH) throw new Refusal(NESTING_REFUSAL);
}

function prepareArray(array: readonly unknown[], state: EncodeState): unknown[] {
  checkLevel(state);
  const plain = Object.getPrototypeOf(array) === Array.prototype;
  let out: unknown[] | undefined = plain ? undefined : new Array<unknown>(array.length);
  let i = 0;
  try {
    for (; i < array.length; i++) {
      const item = array[i];
      const prepared = prepare(item, state);
      if (out === undefined && replaced(prepared, item)) out = array.slice(0, i);
      if (out !== undefined) out[i] = prepared;
    }
  } catch (error) {
    throw atStep(error, () => `[${i}]`);
  }
  return out ?? (array as unknown[]);
}

/** A plain object (or a class instance, copied when `asIs` is false) as a msgpack map with string keys. */
function prepareRecord(object: object, state: EncodeState, asIs: boolean): object {
  checkLevel(state);
  const record = object as Record<string, unknown>;
  const keys = Object.keys(record);
  let out: Record<string, unknown> | undefined = asIs ? undefined : {};
  let key = '';
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i] as string;
      const item = record[key];
      const prepared = prepare(item, state);
      const cleanKey = prepareString(key, state);
      if (out === undefined && (replaced(prepared, item) || cleanKey !== key)) out = copyEntries(record, keys, i);
      if (out !== undefined) setOwn(out, cleanKey, prepared);
    }
  } catch (error) {
    throw atStep(error, () => `.${key}`);
  }
  return out ?? object;
}

/** True when prepare() swapped the value (NaN is never swapped, but is not equal to itself). */
function replaced(prepared: unknown, item: unknown): boolean {
  return prepared !== item && !Number.isNaN(prepared);
}

function copyEntries(record: Record<string, unknown>, keys: readonly string[], count: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) setOwn(copy, keys[i] as string, record[keys[i] as string]);
  return copy;
}

/** Sets an own property, even one named `__proto__` (which plain assignment would take as the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function prepareBytes(bytes: Uint8Array, state: EncodeState): RawMsgpack {
  state.size += bytes.byteLength;
  return binRaw(bytes);
}

function prepareDate(date: Date): RawMsgpack {
  const milliseconds = date.getTime();
  if (Number.isNaN(milliseconds)) throw new Refusal('an invalid Date cannot be sent');
  return timestampRaw(milliseconds);
}

function prepareMap(map: Map<unknown, unknown>, state: EncodeState): RawMsgpack {
  checkLevel(state);
  const before = state.size;
  const prepared = new Map<unknown, unknown>();
  let i = 0;
  for (const [key, item] of map) {
    const index = i++;
    let preparedKey: unknown;
    try {
      preparedKey = prepare(key, state);
    } catch (error) {
      throw atStep(error, () => `<key ${index}>`);
    }
    try {
      prepared.set(preparedKey, prepare(item, state));
    } catch (error) {
      throw atStep(error, () => `.get(${JSON.stringify(String(key))})`);
    }
  }
  return payloadRaw(MsgpackExtType.map, prepared, before, state);
}

function prepareSet(set: Set<unknown>, state: EncodeState): RawMsgpack {
  checkLevel(state);
  const before = state.size;
  const items: unknown[] = [];
  for (const item of set) {
    const index = items.length;
    try {
      items.push(prepare(item, state));
    } catch (error) {
      throw atStep(error, () => `<item ${index}>`);
    }
  }
  return payloadRaw(MsgpackExtType.set, items, before, state);
}

function prepareHandle(handle: HandleRef, state: EncodeState): RawMsgpack {
  state.context?.onHandle?.(handle);
  const before = state.size;
  state.size += 2 * VALUE_BYTES;
  return payloadRaw(MsgpackExtType.handle, [handle.id, prepareString(handle.type, state)], before, state);
}

/** A function in call arguments: the callback reference the invoker chose for it (docs/protocol.md). */
function prepareFunction(fn: HostFunction, state: EncodeState): RawMsgpack {
  const onFunction = state.context?.onFunction;
  const refusal = proxyRefusal(fn);
  if (refusal !== undefined || onFunction === undefined) throw new Refusal(refusal ?? FUNCTION_REFUSED);
  return prepareCallback(onFunction(fn), state);
}

function prepareCallback(index: number, state: EncodeState): RawMsgpack {
  const before = state.size;
  state.size += VALUE_BYTES;
  return payloadRaw(MsgpackExtType.callback, index, before, state);
}

/**
 * An extension whose payload is itself msgpack: packed now, copied into the
 * message later. What was estimated for `prepared` since `before` sizes the
 * payload's own buffer; the message then needs the payload's actual size.
 */
function payloadRaw(type: number, prepared: unknown, before: number, state: EncodeState): RawMsgpack {
  const payload = state.packPayload(prepared, state.size - before);
  state.size = before + payload.byteLength + EXT_HEADER_BYTES;
  return extRaw(type, payload);
}

function prepareExtension(extension: MsgpackExtension, object: object, state: EncodeState): RawMsgpack {
  let payload: Uint8Array;
  try {
    payload = extension.encode(object);
  } catch (error) {
    throw new Refusal(`extension type ${extension.type} could not encode the value: ${(error as Error).message}`, {
      cause: error,
    });
  }
  state.size += payload.byteLength + EXT_HEADER_BYTES;
  return extRaw(extension.type, payload);
}

// The ndarray payload: dtype code, ndim, offset of the elements (u16 LE), the
// shape (u32 LE each), zero padding, then the elements, little-endian, in C
// order. The elements start at a multiple of 8 within the payload: the Python
// side receives the payload as a bytes object of its own (aligned), so
// numpy.frombuffer gets aligned elements without a copy.
//
// An array of at least the shared-memory threshold, when the transport has a
// lane, is written as a sharedNdarray instead: the same header, then the index
// (u32 LE) of the segment its elements were copied into, at the data offset.
function prepareNdarray(data: TypedArray, shape: readonly number[], state: EncodeState): RawMsgpack {
  const code = dtypeCode(data);
  if (shape.length > 255) throw new Refusal(`an array of ${shape.length} dimensions is too many`);
  const shapeEnd = NDARRAY_FIXED_HEADER + 4 * shape.length;
  const dataOffset = Math.ceil(shapeEnd / 8) * 8;
  const lane = state.context?.sharedMemory;
  const large = lane !== undefined && data.byteLength > 0 && data.byteLength >= lane.thresholdBytes;
  const segment = large ? lane.put(bytesOfTypedArray(data)) : undefined;
  const header = new Uint8Array(dataOffset + (segment === undefined ? 0 : 4));
  const view = new DataView(header.buffer);
  view.setUint8(0, code);
  view.setUint8(1, shape.length);
  view.setUint16(2, dataOffset, true);
  shape.forEach((size, i) => {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) throw new Refusal(`bad array dimension ${size}`);
    view.setUint32(NDARRAY_FIXED_HEADER + 4 * i, size, true);
  });
  if (segment !== undefined) {
    view.setUint32(dataOffset, segment, true);
    state.size += EXT_HEADER_BYTES + header.byteLength;
    return extRaw(MsgpackExtType.sharedNdarray, header);
  }
  state.size += EXT_HEADER_BYTES + header.byteLength + data.byteLength;
  return extRaw(MsgpackExtType.ndarray, header, bytesOfTypedArray(data));
}

function dtypeCode(data: TypedArray): number {
  try {
    return DTYPE_BY_CODE.indexOf(dtypeOf(data));
  } catch {
    const name = (data as object).constructor.name;
    throw new Refusal(`a ${name} has no numpy dtype; use one of ${DTYPE_BY_CODE.join(', ')}`);
  }
}

// The dynamic value, snakebridge.Value (snakebridge.proto), written and read
// field by field with protobufjs's Writer and Reader: no intermediate message
// objects, exact control over 64-bit integers, and raw bytes for arrays.
// python/snakebridge/serializers/protobuf.py writes the same bytes; the golden
// vectors pin both, and the tests check them against protobufjs reflection.

import {
  type DecodeContext,
  type DType,
  dtypeOf,
  type EncodeContext,
  FUNCTION_REFUSED,
  HandleRef,
  type HandleWire,
  isDType,
  MAX_NESTING_DEPTH,
  NDArray,
  NESTING_REFUSAL,
  SerializationError,
  type TypedArray,
  toHandleRef,
  typedArrayFromBytes,
} from '@snakebridge/core';
import {
  bigIntFromBytes,
  bigIntToBytes,
  child,
  delimitedEnd,
  expectWireType,
  FORMAT,
  fromLong,
  INT64_MAX,
  INT64_MIN,
  isSafeBigInt,
  malformed,
  numberOrBigInt,
  type Reader,
  readString,
  readVarint64,
  readView,
  readZigZag64,
  refuse,
  skipField,
  toLong,
  WireType,
  type Writer,
  wellFormed,
} from './wire.js';

/** Field numbers of snakebridge.Value's `kind` oneof. */
export const ValueField = {
  null: 1,
  bool: 2,
  int: 3,
  double: 4,
  string: 5,
  bytes: 6,
  bigint: 7,
  list: 8,
  struct: 9,
  map: 10,
  set: 11,
  timestamp: 12,
  ndarray: 13,
  handle: 14,
  message: 15,
  request: 16,
} as const;

const tag = (field: number, wireType: number): number => ((field << 3) | wireType) >>> 0;

const T = {
  null: tag(ValueField.null, WireType.varint),
  bool: tag(ValueField.bool, WireType.varint),
  int: tag(ValueField.int, WireType.varint),
  double: tag(ValueField.double, WireType.fixed64),
  string: tag(ValueField.string, WireType.bytes),
  bytes: tag(ValueField.bytes, WireType.bytes),
  bigint: tag(ValueField.bigint, WireType.bytes),
  list: tag(ValueField.list, WireType.bytes),
  struct: tag(ValueField.struct, WireType.bytes),
  map: tag(ValueField.map, WireType.bytes),
  set: tag(ValueField.set, WireType.bytes),
  timestamp: tag(ValueField.timestamp, WireType.bytes),
  ndarray: tag(ValueField.ndarray, WireType.bytes),
  handle: tag(ValueField.handle, WireType.bytes),
  message: tag(ValueField.message, WireType.bytes),
  request: tag(ValueField.request, WireType.bytes),
  /** Field 1 of ListValue, Struct and MapValue; the key of StructEntry and MapEntry. */
  first: tag(1, WireType.bytes),
  /** Field 2 of StructEntry and MapEntry (the value). */
  second: tag(2, WireType.bytes),
} as const;

/** A message of the schema inside a Value (`message_value`, `request_value`): its type and encoding. */
export interface EmbeddedMessage {
  readonly type: string;
  readonly data: Uint8Array;
}

/** What the value codec needs from the schema to read and write messages inside a Value. */
export interface MessageHooks {
  /** A message_value, decoded to its plain form. */
  readMessage(message: EmbeddedMessage, state: DecodeState): unknown;
  /** A request_value, decoded to `[args, kwargs]`. */
  readRequest(message: EmbeddedMessage, state: DecodeState): unknown;
}

export interface EncodeState {
  readonly context: EncodeContext | undefined;
  /** Objects on the path from the root to the value being written, to catch cycles. */
  readonly seen: Set<object>;
  /** Containers (lists, structs, maps, sets, messages) around the value being written. */
  depth: number;
}

export interface DecodeState {
  readonly context: DecodeContext | undefined;
  readonly hooks: MessageHooks | undefined;
  /** Containers around the value being read. */
  depth: number;
  /** Values and messages read so far: each takes a byte at least, which the fuzz tests check. */
  steps: number;
}

/** A fresh state for one encode. */
export function encodeState(context: EncodeContext | undefined): EncodeState {
  return { context, seen: new Set(), depth: 0 };
}

/** A fresh state for one decode. */
export function decodeState(context: DecodeContext | undefined, hooks: MessageHooks | undefined): DecodeState {
  return { context, hooks, depth: 0, steps: 0 };
}

/**
 * Runs `body` one container deeper, refusing to go beyond MAX_NESTING_DEPTH
 * with the error `tooDeep` makes: the same limit on both sides of the wire.
 */
export function deeper<T>(state: EncodeState | DecodeState, tooDeep: () => Error, body: () => T): T {
  if (state.depth >= MAX_NESTING_DEPTH) throw tooDeep();
  state.depth += 1;
  try {
    return body();
  } finally {
    state.depth -= 1;
  }
}

// --- encoding -------------------------------------------------------------------

/** Writes the fields of a snakebridge.Value holding `value` (the caller writes any tag and length). */
export function writeValue(writer: Writer, value: unknown, state: EncodeState, path: string): void {
  switch (typeof value) {
    case 'string':
      writer.uint32(T.string).string(wellFormed(value));
      return;
    case 'boolean':
      writer.uint32(T.bool).bool(value);
      return;
    case 'number':
      writeNumber(writer, value);
      return;
    case 'bigint':
      writeBigInt(writer, value);
      return;
    case 'undefined':
      writer.uint32(T.null).uint32(0);
      return;
    case 'symbol':
      throw refuse('a symbol cannot be sent to Python', path);
    default:
      break;
  }
  if (value === null) {
    writer.uint32(T.null).uint32(0);
    return;
  }
  const handle = toHandleRef(value);
  if (handle !== undefined) {
    state.context?.onHandle?.(handle);
    writeHandle(writer, handle, path);
    return;
  }
  if (typeof value === 'function') {
    throw refuse(FUNCTION_REFUSED, path);
  }
  const object = value as object;
  if (state.seen.has(object)) throw refuse('the value contains a cycle, which protobuf cannot represent', path);
  state.seen.add(object);
  try {
    writeObject(writer, object, state, path);
  } finally {
    state.seen.delete(object);
  }
}

function writeNumber(writer: Writer, value: number): void {
  // -0 is an integer to Number.isSafeInteger, but only a double keeps its sign.
  if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
    writer.uint32(T.int).sint64(value);
  } else {
    // Integral numbers beyond 2^53 have already lost precision: they travel as the floats they are.
    writer.uint32(T.double).double(value);
  }
}

function writeBigInt(writer: Writer, value: bigint): void {
  // A bigint must come back as a bigint. Beyond 2^53 int_value does that (it reads as a
  // bigint there); a safe one would come back as a number, so it goes as bigint_value.
  if (!isSafeBigInt(value) && value >= INT64_MIN && value <= INT64_MAX) {
    writer.uint32(T.int).sint64(toLong(value) as never);
  } else {
    writer.uint32(T.bigint).bytes(bigIntToBytes(value));
  }
}

function writeHandle(writer: Writer, handle: HandleWire, path: string): void {
  if (!Number.isInteger(handle.id) || handle.id <= 0 || handle.id > 0xffffffff) {
    throw refuse(`handle id ${handle.id} is not a worker handle id (1 to 2^32-1)`, path);
  }
  writer.uint32(T.handle).fork();
  writer.uint32(tag(1, WireType.varint)).uint32(handle.id);
  if (handle.type !== '') writer.uint32(tag(2, WireType.bytes)).string(wellFormed(handle.type));
  // The worker finds the object by id; its repr would only make the call bigger.
  writer.ldelim();
}

function writeObject(writer: Writer, object: object, state: EncodeState, path: string): void {
  if (writeLeaf(writer, object, path)) return;
  deeper(
    state,
    () => refuse(NESTING_REFUSAL, path),
    () => writeContainer(writer, object, state, path),
  );
}

/**
 * Writes `object` and returns true if it is a leaf of the value (bytes, a
 * typed array or NDArray, a Date); refuses what cannot be sent; returns false
 * for a container.
 */
function writeLeaf(writer: Writer, object: object, path: string): boolean {
  if (object instanceof Uint8Array && (object.constructor === Uint8Array || Buffer.isBuffer(object))) {
    writer.uint32(T.bytes).bytes(object);
  } else if (object instanceof NDArray) {
    writeNdarray(writer, object.data, object.shape, path);
  } else if (ArrayBuffer.isView(object)) {
    if (object instanceof DataView) throw refuse('a DataView cannot be sent; send a typed array or a Uint8Array', path);
    writeNdarray(writer, object as TypedArray, [(object as TypedArray).length], path);
  } else if (object instanceof ArrayBuffer || object instanceof SharedArrayBuffer) {
    throw refuse('an ArrayBuffer cannot be sent; wrap it in a Uint8Array to send bytes', path);
  } else if (object instanceof Date) {
    writer.uint32(T.timestamp).fork();
    writeTimestamp(writer, object, path);
    writer.ldelim();
  } else if (object instanceof Promise) {
    throw refuse('a Promise cannot be sent to Python; await it first', path);
  } else {
    return false;
  }
  return true;
}

/** An array, Map, Set or struct: one level of nesting. */
function writeContainer(writer: Writer, object: object, state: EncodeState, path: string): void {
  if (Array.isArray(object)) {
    writer.uint32(T.list).fork();
    writeItems(writer, object, state, path, 'index');
    writer.ldelim();
    return;
  }
  if (object instanceof Map) {
    writer.uint32(T.map).fork();
    let i = 0;
    for (const [key, item] of object) {
      writer.uint32(T.first).fork();
      writer.uint32(T.first).fork();
      writeValue(writer, key, state, `${path}<key ${i}>`);
      writer.ldelim();
      writer.uint32(T.second).fork();
      writeValue(writer, item, state, `${path}.get(${JSON.stringify(String(key))})`);
      writer.ldelim();
      writer.ldelim();
      i += 1;
    }
    writer.ldelim();
    return;
  }
  if (object instanceof Set) {
    writer.uint32(T.set).fork();
    writeItems(writer, object, state, path, 'item');
    writer.ldelim();
    return;
  }
  writer.uint32(T.struct).fork();
  writeStruct(writer, object, state, path);
  writer.ldelim();
}

function writeItems(
  writer: Writer,
  items: Iterable<unknown>,
  state: EncodeState,
  path: string,
  naming: 'index' | 'item',
): void {
  let i = 0;
  for (const item of items) {
    writer.uint32(T.first).fork();
    writeValue(writer, item, state, naming === 'index' ? `${path}[${i}]` : `${path}<item ${i}>`);
    writer.ldelim();
    i += 1;
  }
}

/** The entries of a Struct: an object's own enumerable string keys, in order. */
function writeStruct(writer: Writer, object: object, state: EncodeState, path: string): void {
  for (const [key, item] of Object.entries(object)) {
    writer.uint32(T.first).fork();
    if (key !== '') writer.uint32(T.first).string(wellFormed(key));
    writer.uint32(T.second).fork();
    writeValue(writer, item, state, child(path, key));
    writer.ldelim();
    writer.ldelim();
  }
}

/** The fields of a Timestamp (also google.protobuf.Timestamp) for a Date. */
export function writeTimestamp(writer: Writer, date: Date, path: string): void {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw refuse('an invalid Date cannot be sent', path);
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  if (seconds !== 0) writer.uint32(tag(1, WireType.varint)).int64(seconds);
  if (nanos !== 0) writer.uint32(tag(2, WireType.varint)).int32(nanos);
}

function writeNdarray(writer: Writer, data: TypedArray, shape: readonly number[], path: string): void {
  let dtype: DType;
  try {
    dtype = dtypeOf(data);
  } catch {
    throw refuse(`a ${data.constructor.name} has no numpy dtype; use a Float64Array, Int32Array, …`, path);
  }
  writer.uint32(T.ndarray).fork();
  writer.uint32(tag(1, WireType.bytes)).string(dtype);
  if (shape.length > 0) {
    writer.uint32(tag(2, WireType.bytes)).fork();
    for (const size of shape) writer.uint64(size);
    writer.ldelim();
  }
  if (data.byteLength > 0) {
    writer.uint32(tag(3, WireType.bytes)).bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  writer.ldelim();
}

// --- decoding -------------------------------------------------------------------

/** Reads the fields of a snakebridge.Value up to `end`. */
export function readValue(reader: Reader, end: number, state: DecodeState): unknown {
  state.steps += 1;
  let result: unknown;
  let kind = 0;
  while (reader.pos < end) {
    const key = reader.uint32();
    const field = key >>> 3;
    const wireType = key & 7;
    if (kind !== 0) throw malformed(reader, `a Value has two kinds set (fields ${kind} and ${field})`);
    kind = field;
    result = readKind(reader, field, wireType, state);
  }
  if (reader.pos !== end) throw malformed(reader, 'a Value runs past the end of its field');
  if (kind === 0) throw malformed(reader, 'a Value with no kind set');
  return result;
}

function readKind(reader: Reader, field: number, wireType: number, state: DecodeState): unknown {
  switch (field) {
    case ValueField.null:
      expectWireType(reader, wireType, WireType.varint, 'null_value');
      reader.uint32();
      return null;
    case ValueField.bool:
      expectWireType(reader, wireType, WireType.varint, 'bool_value');
      return reader.bool();
    case ValueField.int:
      expectWireType(reader, wireType, WireType.varint, 'int_value');
      return numberOrBigInt(readZigZag64(reader));
    case ValueField.double:
      expectWireType(reader, wireType, WireType.fixed64, 'double_value');
      return reader.double();
    case ValueField.string:
      expectWireType(reader, wireType, WireType.bytes, 'string_value');
      return readString(reader);
    case ValueField.bytes:
      expectWireType(reader, wireType, WireType.bytes, 'bytes_value');
      return readView(reader).slice();
    case ValueField.bigint: {
      expectWireType(reader, wireType, WireType.bytes, 'bigint_value');
      const bytes = readView(reader);
      if (bytes.length === 0) throw malformed(reader, 'an empty bigint_value');
      return bigIntFromBytes(bytes);
    }
    case ValueField.list:
    case ValueField.set:
    case ValueField.struct:
    case ValueField.map:
      return deeper(
        state,
        () => malformed(reader, NESTING_REFUSAL),
        () => readContainer(reader, field, wireType, state),
      );
    case ValueField.timestamp:
      expectWireType(reader, wireType, WireType.bytes, 'timestamp_value');
      return readTimestamp(reader, delimitedEnd(reader));
    case ValueField.ndarray:
      expectWireType(reader, wireType, WireType.bytes, 'ndarray_value');
      return readNdarray(reader, delimitedEnd(reader));
    case ValueField.handle: {
      expectWireType(reader, wireType, WireType.bytes, 'handle_value');
      const wire = readHandle(reader, delimitedEnd(reader));
      return state.context?.handle ? state.context.handle(wire) : new HandleRef(wire);
    }
    case ValueField.message:
    case ValueField.request: {
      const which = field === ValueField.message ? 'message_value' : 'request_value';
      expectWireType(reader, wireType, WireType.bytes, which);
      const message = readEmbedded(reader, delimitedEnd(reader));
      if (state.hooks === undefined) {
        throw new SerializationError(FORMAT, `a ${which} of type ${message.type} arrived, but no schema is loaded`);
      }
      return field === ValueField.message
        ? state.hooks.readMessage(message, state)
        : state.hooks.readRequest(message, state);
    }
    default:
      throw malformed(
        reader,
        `unknown kind of Value (field ${field}); is the other side a newer version of snakebridge.proto?`,
      );
  }
}

/** A list, set, struct or map: one level of nesting. */
function readContainer(reader: Reader, field: number, wireType: number, state: DecodeState): unknown {
  if (field === ValueField.struct) {
    expectWireType(reader, wireType, WireType.bytes, 'struct_value');
    return readStruct(reader, delimitedEnd(reader), state);
  }
  if (field === ValueField.map) {
    expectWireType(reader, wireType, WireType.bytes, 'map_value');
    return readMap(reader, delimitedEnd(reader), state);
  }
  expectWireType(reader, wireType, WireType.bytes, field === ValueField.list ? 'list_value' : 'set_value');
  const items = readList(reader, delimitedEnd(reader), state);
  return field === ValueField.list ? items : new Set(items);
}

/** Reads one length-delimited Value field (the tag is already read). */
function readNested(reader: Reader, wireType: number, state: DecodeState, what: string): unknown {
  expectWireType(reader, wireType, WireType.bytes, what);
  return readValue(reader, delimitedEnd(reader), state);
}

function readList(reader: Reader, end: number, state: DecodeState): unknown[] {
  const items: unknown[] = [];
  while (reader.pos < end) {
    const key = reader.uint32();
    if (key >>> 3 === 1) items.push(readNested(reader, key & 7, state, 'a list item'));
    else skipField(reader, key & 7);
  }
  return items;
}

function readStruct(reader: Reader, end: number, state: DecodeState): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  while (reader.pos < end) {
    const key = reader.uint32();
    if (key >>> 3 !== 1) {
      skipField(reader, key & 7);
      continue;
    }
    expectWireType(reader, key & 7, WireType.bytes, 'a struct entry');
    const entryEnd = delimitedEnd(reader);
    let name = '';
    let item: unknown;
    let hasItem = false;
    while (reader.pos < entryEnd) {
      const entryKey = reader.uint32();
      if (entryKey >>> 3 === 1) {
        expectWireType(reader, entryKey & 7, WireType.bytes, 'a struct key');
        name = readString(reader);
      } else if (entryKey >>> 3 === 2) {
        item = readNested(reader, entryKey & 7, state, 'a struct value');
        hasItem = true;
      } else {
        skipField(reader, entryKey & 7);
      }
    }
    if (!hasItem) throw malformed(reader, `the struct entry ${JSON.stringify(name)} has no value`);
    // defineProperty, so that a key named __proto__ is a key and not the object's prototype.
    Object.defineProperty(result, name, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

function readMap(reader: Reader, end: number, state: DecodeState): Map<unknown, unknown> {
  const result = new Map<unknown, unknown>();
  while (reader.pos < end) {
    const key = reader.uint32();
    if (key >>> 3 !== 1) {
      skipField(reader, key & 7);
      continue;
    }
    expectWireType(reader, key & 7, WireType.bytes, 'a map entry');
    const entryEnd = delimitedEnd(reader);
    let entryKey: unknown;
    let item: unknown;
    let seen = 0;
    while (reader.pos < entryEnd) {
      const fieldKey = reader.uint32();
      if (fieldKey >>> 3 === 1) {
        entryKey = readNested(reader, fieldKey & 7, state, 'a map key');
        seen |= 1;
      } else if (fieldKey >>> 3 === 2) {
        item = readNested(reader, fieldKey & 7, state, 'a map value');
        seen |= 2;
      } else {
        skipField(reader, fieldKey & 7);
      }
    }
    if (seen !== 3) throw malformed(reader, 'a map entry lacks its key or its value');
    result.set(entryKey, item);
  }
  return result;
}

/** Reads a Timestamp (or google.protobuf.Timestamp) as a Date (milliseconds: finer parts are cut). */
export function readTimestamp(reader: Reader, end: number): Date {
  let seconds = 0n;
  let nanos = 0;
  while (reader.pos < end) {
    const key = reader.uint32();
    if (key >>> 3 === 1) {
      expectWireType(reader, key & 7, WireType.varint, 'Timestamp.seconds');
      seconds = fromLong(readVarint64(reader), false);
    } else if (key >>> 3 === 2) {
      expectWireType(reader, key & 7, WireType.varint, 'Timestamp.nanos');
      nanos = reader.int32();
    } else {
      skipField(reader, key & 7);
    }
  }
  if (nanos < 0 || nanos > 999_999_999) throw malformed(reader, `Timestamp.nanos ${nanos} is out of range`);
  const date = new Date(Number(seconds) * 1000 + Math.floor(nanos / 1_000_000));
  if (Number.isNaN(date.getTime())) {
    throw malformed(reader, `a Timestamp of ${seconds} s is outside the range of a JavaScript Date`);
  }
  return date;
}

function readNdarray(reader: Reader, end: number): unknown {
  let dtype = '';
  const shape: number[] = [];
  let data: Uint8Array = new Uint8Array();
  while (reader.pos < end) {
    const key = reader.uint32();
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(reader, key & 7, WireType.bytes, 'NDArray.dtype');
      dtype = readString(reader);
    } else if (field === 2) {
      readUint64s(reader, key & 7, shape);
    } else if (field === 3) {
      expectWireType(reader, key & 7, WireType.bytes, 'NDArray.data');
      data = readView(reader);
    } else {
      skipField(reader, key & 7);
    }
  }
  if (!isDType(dtype)) throw malformed(reader, `unsupported dtype ${JSON.stringify(dtype)}`);
  let array: TypedArray;
  let ndarray: NDArray | undefined;
  try {
    array = typedArrayFromBytes(dtype, data);
    const count = shape.reduce((product, size) => product * size, 1);
    if (count !== array.length) throw new RangeError(`${array.length} elements do not fill it`);
    ndarray = shape.length === 1 && dtype !== 'uint8' ? undefined : new NDArray(array, shape);
  } catch (error) {
    throw malformed(reader, `an ndarray of shape [${shape.join(', ')}]: ${(error as Error).message}`, error);
  }
  // One-dimensional arrays arrive as plain typed arrays, except uint8 which would read as bytes.
  return ndarray ?? array;
}

/** A repeated uint64 field, packed or not, appended to `into` as numbers. */
function readUint64s(reader: Reader, wireType: number, into: number[]): void {
  const read = (): void => {
    const size = fromLong(readVarint64(reader), true);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(reader, `an array dimension of ${size}`);
    into.push(Number(size));
  };
  if (wireType === WireType.bytes) {
    const end = delimitedEnd(reader);
    while (reader.pos < end) read();
  } else {
    expectWireType(reader, wireType, WireType.varint, 'NDArray.shape');
    read();
  }
}

function readHandle(reader: Reader, end: number): HandleWire {
  let id = 0;
  let type = '';
  let repr: string | undefined;
  while (reader.pos < end) {
    const key = reader.uint32();
    const field = key >>> 3;
    if (field === 1) {
      expectWireType(reader, key & 7, WireType.varint, 'Handle.id');
      id = reader.uint32();
    } else if (field === 2) {
      expectWireType(reader, key & 7, WireType.bytes, 'Handle.type');
      type = readString(reader);
    } else if (field === 3) {
      expectWireType(reader, key & 7, WireType.bytes, 'Handle.repr');
      repr = readString(reader);
    } else {
      skipField(reader, key & 7);
    }
  }
  if (id === 0) throw malformed(reader, 'a Handle without an id');
  return { id, type, repr };
}

/** Reads a snakebridge.Message: a type name and the message's bytes. */
export function readEmbedded(reader: Reader, end: number): EmbeddedMessage {
  let type = '';
  let data: Uint8Array = new Uint8Array();
  while (reader.pos < end) {
    const key = reader.uint32();
    if (key >>> 3 === 1) {
      expectWireType(reader, key & 7, WireType.bytes, 'Message.type');
      type = readString(reader);
    } else if (key >>> 3 === 2) {
      expectWireType(reader, key & 7, WireType.bytes, 'Message.data');
      data = readView(reader);
    } else {
      skipField(reader, key & 7);
    }
  }
  if (type === '') throw malformed(reader, 'a Message without a type name');
  return { type, data };
}

/** Writes a message_value or request_value holding already-encoded message bytes. */
export function writeEmbedded(writer: Writer, which: 'message' | 'request', message: EmbeddedMessage): void {
  writer.uint32(which === 'message' ? T.message : T.request).fork();
  writer.uint32(tag(1, WireType.bytes)).string(message.type);
  if (message.data.length > 0) writer.uint32(tag(2, WireType.bytes)).bytes(message.data);
  writer.ldelim();
}

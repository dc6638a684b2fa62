// The JSON serializer built into core: readable on the wire, needs nothing
// installed on either side. For debugging and as a fallback; msgpack is faster
// and carries binary data without base64.
//
// JSON has no NaN, bytes, bigints, dates, maps or sets, so those travel as
// tagged objects `{"$sb": tag, ...}` that python/snakebridge/serializers/json.py
// reads and writes the same way (docs/serialization.md has the table).

import { CallbackRef, FUNCTION_REFUSED, type HostFunction, proxyRefusal } from '../callbacks/callback-ref.js';
import { SerializationError } from '../errors/errors.js';
import { SnakeBridgeError } from '../errors/snakebridge-error.js';
import { HandleRef, type HandleWire, toHandleRef } from '../handles/handle-ref.js';
import {
  bytesOfTypedArray,
  type DType,
  dtypeOf,
  isDType,
  NDArray,
  type TypedArray,
  typedArrayFromBytes,
} from '../serializer/ndarray.js';
import {
  type DecodeContext,
  type EncodeContext,
  MAX_NESTING_DEPTH,
  NESTING_REFUSAL,
  type Serializer,
  SerializerWireId,
  type ValueKind,
} from '../serializer/serializer.js';

/** The key that marks a tagged value. */
export const JSON_TAG = '$sb';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

const SUPPORTS: ReadonlySet<ValueKind> = new Set<ValueKind>([
  'null',
  'boolean',
  'number',
  'nonFiniteNumber',
  'negativeZero',
  'bigint',
  'string',
  'bytes',
  'array',
  'object',
  'map',
  'set',
  'date',
  'typedArray',
  'handle',
]);

/**
 * The most decimal digits of a tagged int. Python refuses to convert longer
 * digit strings (`sys.int_info.default_max_str_digits`), so no such int can
 * cross in either direction; refusing them here also keeps a hostile payload
 * from making BigInt parse megabytes of digits, which takes superlinear time.
 */
export const JSON_MAX_INT_DIGITS = 4300;

/**
 * Encodes values as UTF-8 JSON, with tagged objects for what JSON lacks.
 * `undefined` becomes null (as in arrays under JSON.stringify); symbols are
 * refused, and functions too unless the invoker takes them as callbacks
 * (`EncodeContext.onFunction`).
 */
export class JsonSerializer implements Serializer {
  readonly id = 'json';
  readonly wireId = SerializerWireId.json;
  readonly contentType = 'application/json';
  readonly supports = SUPPORTS;
  readonly recipe = { module: import.meta.url, factory: 'createJsonSerializer' };

  encode(value: unknown, context?: EncodeContext): Uint8Array {
    try {
      return textEncoder.encode(JSON.stringify(toJsonValue(value, '', { context, seen: new Set(), depth: 0 })));
    } catch (error) {
      if (error instanceof SerializationError) throw error;
      throw new SerializationError('json', (error as Error).message, undefined, { cause: error });
    }
  }

  /**
   * Decodes UTF-8 JSON. Bytes that are not UTF-8 JSON, or whose tagged objects
   * are malformed, or a value nested more than MAX_NESTING_DEPTH deep, throw a
   * SerializationError naming the path; a HandleError from `context.handle`
   * keeps its code. Work and memory are linear in the input: JSON.parse is
   * iterative, and the walk below visits each parsed node once.
   */
  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(textDecoder.decode(bytes));
    } catch (error) {
      throw new SerializationError('json', `not valid UTF-8 JSON: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
    return decodeJsonTree(parsed, newJsonWalk(context));
  }
}

// --- encoding ---------------------------------------------------------------

/** What the encoding walk carries: the caller's context, the objects on the current path, and how deep it is. */
interface EncodeWalk {
  readonly context: EncodeContext | undefined;
  readonly seen: Set<object>;
  depth: number;
}

// An explicit walk rather than a JSON.stringify replacer: it sees Dates before
// toJSON runs, knows the path for error messages, and catches cycles by name.
function toJsonValue(value: unknown, path: string, walk: EncodeWalk): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return encodeBigint(value, path);
    case 'undefined':
      return null;
    case 'symbol':
      throw new SerializationError('json', 'a symbol cannot be sent to Python', pathOrRoot(path));
    default:
      break;
  }
  if (value === null) return null;
  const handle = toHandleRef(value);
  if (handle !== undefined) {
    walk.context?.onHandle?.(handle);
    return { [JSON_TAG]: 'handle', id: handle.id, type: handle.type };
  }
  if (typeof value === 'function') {
    const refusal = proxyRefusal(value);
    if (refusal !== undefined || walk.context?.onFunction === undefined) {
      throw new SerializationError('json', refusal ?? FUNCTION_REFUSED, pathOrRoot(path));
    }
    return { [JSON_TAG]: 'callback', id: walk.context.onFunction(value as HostFunction) };
  }
  if (value instanceof CallbackRef) return { [JSON_TAG]: 'callback', id: value.index };
  const object = value as object;
  if (walk.seen.has(object)) {
    throw new SerializationError('json', 'the value contains a cycle, which JSON cannot represent', pathOrRoot(path));
  }
  walk.seen.add(object);
  try {
    return encodeObject(object, path, walk);
  } finally {
    walk.seen.delete(object);
  }
}

function encodeNumber(value: number): unknown {
  if (Number.isNaN(value)) return { [JSON_TAG]: 'float', v: 'NaN' };
  if (value === Infinity) return { [JSON_TAG]: 'float', v: 'Infinity' };
  if (value === -Infinity) return { [JSON_TAG]: 'float', v: '-Infinity' };
  if (Object.is(value, -0)) return { [JSON_TAG]: 'float', v: '-0' };
  // An integral number beyond 2^53 has already lost precision in JavaScript;
  // send it as the float it is rather than let Python read an exact int.
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return { [JSON_TAG]: 'float', v: String(value) };
  return value;
}

function encodeBigint(value: bigint, path: string): unknown {
  const digits = value.toString();
  if (digits.length - (value < 0n ? 1 : 0) > JSON_MAX_INT_DIGITS) {
    throw new SerializationError(
      'json',
      `a bigint of more than ${JSON_MAX_INT_DIGITS} digits cannot travel as JSON (Python refuses to read it); use msgpack`,
      pathOrRoot(path),
    );
  }
  return { [JSON_TAG]: 'int', v: digits };
}

function encodeObject(object: object, path: string, walk: EncodeWalk): unknown {
  if (object instanceof Uint8Array && (object.constructor === Uint8Array || Buffer.isBuffer(object))) {
    return {
      [JSON_TAG]: 'bytes',
      v: Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64'),
    };
  }
  if (ArrayBuffer.isView(object) && !(object instanceof DataView)) {
    return encodeNdarray(object as TypedArray, [(object as TypedArray).length]);
  }
  if (object instanceof NDArray) return encodeNdarray(object.data, object.shape);
  if (object instanceof Date) {
    if (Number.isNaN(object.getTime()))
      throw new SerializationError('json', 'an invalid Date cannot be sent', pathOrRoot(path));
    return { [JSON_TAG]: 'date', v: object.toISOString() };
  }
  // As the msgpack and protobuf serializers refuse it (its own properties would say nothing of its value).
  if (object instanceof Promise) {
    throw new SerializationError('json', 'a Promise cannot be sent to Python; await it first', pathOrRoot(path));
  }
  // Everything below is a container: one level deeper.
  if (walk.depth >= MAX_NESTING_DEPTH) throw new SerializationError('json', NESTING_REFUSAL, pathOrRoot(path));
  walk.depth += 1;
  try {
    return encodeContainer(object, path, walk);
  } finally {
    walk.depth -= 1;
  }
}

function encodeContainer(object: object, path: string, walk: EncodeWalk): unknown {
  if (Array.isArray(object)) return object.map((item, i) => toJsonValue(item, `${path}[${i}]`, walk));
  if (object instanceof Map) {
    const entries = [...object].map(([k, v], i) => [
      toJsonValue(k, `${path}<key ${i}>`, walk),
      toJsonValue(v, `${path}.get(${JSON.stringify(String(k))})`, walk),
    ]);
    return { [JSON_TAG]: 'map', v: entries };
  }
  if (object instanceof Set) {
    return { [JSON_TAG]: 'set', v: [...object].map((item, i) => toJsonValue(item, `${path}<item ${i}>`, walk)) };
  }
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    result[key] = toJsonValue(item, path === '' ? key : `${path}.${key}`, walk);
  }
  // A user object that happens to use our tag key is wrapped, so it is not mistaken for one of ours.
  return Object.hasOwn(result, JSON_TAG) ? { [JSON_TAG]: 'object', v: result } : result;
}

function encodeNdarray(data: TypedArray, shape: readonly number[]): unknown {
  const bytes = bytesOfTypedArray(data);
  return {
    [JSON_TAG]: 'ndarray',
    dtype: dtypeOf(data),
    shape,
    v: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  };
}

function pathOrRoot(path: string): string {
  return path === '' ? '(root)' : path;
}

// --- decoding ---------------------------------------------------------------

/**
 * What the decoding walk carries: the caller's context, how deep it is, and
 * how many parsed nodes it has visited (the fuzz tests hold that to the size
 * of the input).
 */
export interface JsonWalk {
  readonly context: DecodeContext | undefined;
  depth: number;
  nodes: number;
}

/** A fresh walk for one decode. */
export function newJsonWalk(context?: DecodeContext): JsonWalk {
  return { context, depth: 0, nodes: 0 };
}

/**
 * Bytes that do not describe a valid value. Each container it passes through
 * on the way out adds its step to `steps`, so paths are only spelled out for
 * the one value that failed.
 */
class Malformed extends Error {
  readonly steps: string[] = [];
}

/** Adds a step to the path of a Malformed passing through. */
function atStep(error: unknown, step: () => string): unknown {
  if (error instanceof Malformed) error.steps.unshift(step());
  return error;
}

/**
 * The value a parsed JSON tree stands for (tags decoded, handles built with
 * `walk.context`). Throws a SerializationError for anything malformed; any
 * other SnakeBridgeError (a HandleError from `context.handle`) passes as is.
 */
export function decodeJsonTree(tree: unknown, walk: JsonWalk): unknown {
  try {
    return fromJsonValue(tree, walk);
  } catch (error) {
    if (error instanceof Malformed) {
      const path = error.steps.join('');
      throw new SerializationError('json', error.message, pathOrRoot(path.startsWith('.') ? path.slice(1) : path));
    }
    if (SnakeBridgeError.is(error)) throw error;
    // Nothing else is expected; should a check above have a gap, the caller still gets a typed error.
    throw new SerializationError('json', `the value could not be decoded: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
}

function fromJsonValue(value: unknown, walk: JsonWalk): unknown {
  walk.nodes += 1;
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  const tagged = !Array.isArray(value) && Object.hasOwn(object, JSON_TAG);
  if (tagged && !CONTAINER_TAGS.has(object[JSON_TAG])) return decodeLeaf(object, walk.context);
  // Arrays, objects, Maps and Sets are a level of nesting each; tagged leaves (bytes, dates, …) are none.
  if (walk.depth >= MAX_NESTING_DEPTH) throw new Malformed(NESTING_REFUSAL);
  walk.depth += 1;
  try {
    if (Array.isArray(value)) return decodeArray(value, walk);
    return tagged ? decodeContainer(object, walk) : decodeObject(object, walk);
  } finally {
    walk.depth -= 1;
  }
}

/** Tags of values that hold others: a level of nesting, as the encoder counts them. */
const CONTAINER_TAGS: ReadonlySet<unknown> = new Set(['map', 'set', 'object']);

// Arrays from JSON.parse are fresh: decoded in place.
function decodeArray(array: unknown[], walk: JsonWalk): unknown[] {
  let i = 0;
  try {
    for (; i < array.length; i++) array[i] = fromJsonValue(array[i], walk);
  } catch (error) {
    throw atStep(error, () => `[${i}]`);
  }
  return array;
}

function decodeObject(object: Record<string, unknown>, walk: JsonWalk): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  let key = '';
  try {
    for (key of Object.keys(object)) setOwn(result, key, fromJsonValue(object[key], walk));
  } catch (error) {
    throw atStep(error, () => `.${key}`);
  }
  return result;
}

/** A tagged Map, Set or wrapped user object. */
function decodeContainer(object: Record<string, unknown>, walk: JsonWalk): unknown {
  const tag = object[JSON_TAG] as string;
  const v = object.v;
  if (tag === 'map') return decodeMap(expectArray(v, tag), walk);
  if (tag === 'set') return decodeSet(expectArray(v, tag), walk);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Malformed('tag object needs an object');
  return decodeObject(v as Record<string, unknown>, walk);
}

/** A tagged value that holds no other: a float or int JSON lacks, bytes, a date, an ndarray, a handle, a callback. */
function decodeLeaf(object: Record<string, unknown>, context: DecodeContext | undefined): unknown {
  const tag = object[JSON_TAG];
  const v = object.v;
  switch (tag) {
    case 'float':
      return decodeFloat(expectString(v, tag));
    case 'int':
      return decodeInt(expectString(v, tag));
    case 'bytes':
      return decodeBase64(v, tag);
    case 'date':
      return decodeDate(expectString(v, tag));
    case 'ndarray':
      return decodeNdarray(object);
    case 'handle':
      return decodeHandle(object, context);
    case 'callback':
      return decodeCallback(object.id);
    default:
      throw new Malformed(`unknown tag ${typeof tag === 'string' ? JSON.stringify(tag) : `of type ${typeof tag}`}`);
  }
}

/** Sets an own property, even `__proto__`, which plain assignment would turn into a prototype change. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function decodeFloat(text: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === 'Infinity') return Infinity;
  if (text === '-Infinity') return -Infinity;
  const number = text.trim() === '' ? Number.NaN : Number(text);
  if (Number.isNaN(number)) throw new Malformed(`bad float ${quote(text)}`);
  return number;
}

const INTEGER = /^-?\d+$/;

function decodeInt(text: string): bigint {
  // The length first: no pattern runs over megabytes of digits.
  if (text.length - (text.startsWith('-') ? 1 : 0) > JSON_MAX_INT_DIGITS) {
    throw new Malformed(`an int of more than ${JSON_MAX_INT_DIGITS} digits`);
  }
  if (!INTEGER.test(text)) throw new Malformed(`bad int ${quote(text)}`);
  return BigInt(text);
}

/**
 * Standard base64 with padding, as both sides write it; anything else is
 * refused rather than skipped over. Checked with native operations only (a
 * regular expression overflows the stack on a string of many megabytes):
 * Buffer's decoder skips what is not base64, so any such character makes the
 * output shorter than the text's length says it must be.
 */
function decodeBase64(value: unknown, tag: string): Uint8Array {
  const text = expectString(value, tag);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(text, 'base64');
  const expected = (text.length / 4) * 3 - padding;
  if (text.length % 4 !== 0 || bytes.length !== expected || text.includes('-') || text.includes('_')) {
    throw new Malformed(`tag ${tag} needs base64`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeDate(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Malformed(`bad date ${quote(text)}`);
  return date;
}

function decodeMap(entries: unknown[], walk: JsonWalk): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  let i = 0;
  try {
    for (; i < entries.length; i++) {
      const entry = entries[i];
      if (!Array.isArray(entry) || entry.length !== 2) throw new Malformed('a map entry must be [key, value]');
      map.set(fromJsonValue(entry[0], walk), fromJsonValue(entry[1], walk));
    }
  } catch (error) {
    throw atStep(error, () => `<entry ${i}>`);
  }
  return map;
}

function decodeSet(items: unknown[], walk: JsonWalk): Set<unknown> {
  const set = new Set<unknown>();
  let i = 0;
  try {
    for (; i < items.length; i++) set.add(fromJsonValue(items[i], walk));
  } catch (error) {
    throw atStep(error, () => `<item ${i}>`);
  }
  return set;
}

function decodeNdarray(object: Record<string, unknown>): unknown {
  const dtype = object.dtype;
  if (typeof dtype !== 'string' || !isDType(dtype)) throw new Malformed(`unsupported dtype ${quote(dtype)}`);
  const shape = expectArray(object.shape, 'ndarray').map((size) => {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new Malformed('an ndarray shape holds non-negative integers');
    }
    return size;
  });
  const bytes = decodeBase64(object.v, 'ndarray');
  // A product beyond 2^53 is inexact, but then also far beyond any byte length it could be mistaken for.
  const count = shape.reduce((product, size) => product * size, 1);
  if (count * DTYPE_SIZES[dtype] !== bytes.byteLength) {
    throw new Malformed(`an ndarray of shape [${shape.join(', ')}] cannot hold ${bytes.byteLength} bytes of ${dtype}`);
  }
  const data = typedArrayFromBytes(dtype, bytes);
  // One-dimensional arrays arrive as plain typed arrays, except uint8 which would read as bytes.
  return shape.length === 1 && dtype !== 'uint8' ? data : new NDArray(data, shape);
}

const DTYPE_SIZES: Readonly<Record<DType, number>> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};

function decodeHandle(object: Record<string, unknown>, context: DecodeContext | undefined): unknown {
  const { id, type, repr } = object;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    throw new Malformed('a handle needs an id from 1 to 2^32-1');
  }
  if (typeof type !== 'string') throw new Malformed('a handle needs a type name');
  const wire: HandleWire = { id, type, repr: typeof repr === 'string' ? repr : undefined };
  return context?.handle ? context.handle(wire) : new HandleRef(wire);
}

function decodeCallback(index: unknown): CallbackRef {
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1) {
    throw new Malformed('a callback reference needs a positive integer id');
  }
  return new CallbackRef(index);
}

function expectString(value: unknown, tag: string): string {
  if (typeof value !== 'string') throw new Malformed(`tag ${tag} needs a string`);
  return value;
}

function expectArray(value: unknown, tag: string): unknown[] {
  if (!Array.isArray(value)) throw new Malformed(`tag ${tag} needs an array`);
  return value;
}

/** A short quotation of a bad value for an error message. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** The JSON serializer. */
export function createJsonSerializer(): JsonSerializer {
  return new JsonSerializer();
}

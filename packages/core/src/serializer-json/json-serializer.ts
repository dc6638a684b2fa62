// The JSON serializer built into core: readable on the wire, needs nothing
// installed on either side. For debugging and as a fallback; msgpack is faster
// and carries binary data without base64.
//
// JSON has no NaN, bytes, bigints, dates, maps or sets, so those travel as
// tagged objects `{"$sb": tag, ...}` that python/snakebridge/serializers/json.py
// reads and writes the same way (docs/serialization.md has the table).

import { CallbackRef, FUNCTION_REFUSED, type HostFunction, proxyRefusal } from '../callbacks/callback-ref.js';
import { SerializationError } from '../errors/errors.js';
import { HandleRef, type HandleWire, toHandleRef } from '../handles/handle-ref.js';
import {
  bytesOfTypedArray,
  dtypeOf,
  isDType,
  NDArray,
  type TypedArray,
  typedArrayFromBytes,
} from '../serializer/ndarray.js';
import {
  type DecodeContext,
  type EncodeContext,
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
      return textEncoder.encode(JSON.stringify(toJsonValue(value, '', context, new Set())));
    } catch (error) {
      if (error instanceof SerializationError) throw error;
      throw new SerializationError('json', (error as Error).message, undefined, { cause: error });
    }
  }

  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(textDecoder.decode(bytes));
    } catch (error) {
      throw new SerializationError('json', `not valid UTF-8 JSON: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
    return fromJsonValue(parsed, '', context);
  }
}

// --- encoding ---------------------------------------------------------------

// An explicit walk rather than a JSON.stringify replacer: it sees Dates before
// toJSON runs, knows the path for error messages, and catches cycles by name.
function toJsonValue(value: unknown, path: string, context: EncodeContext | undefined, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return { [JSON_TAG]: 'int', v: value.toString() };
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
    context?.onHandle?.(handle);
    return { [JSON_TAG]: 'handle', id: handle.id, type: handle.type };
  }
  if (typeof value === 'function') {
    const refusal = proxyRefusal(value);
    if (refusal !== undefined || context?.onFunction === undefined) {
      throw new SerializationError('json', refusal ?? FUNCTION_REFUSED, pathOrRoot(path));
    }
    return { [JSON_TAG]: 'callback', id: context.onFunction(value as HostFunction) };
  }
  if (value instanceof CallbackRef) return { [JSON_TAG]: 'callback', id: value.index };
  const object = value as object;
  if (seen.has(object)) {
    throw new SerializationError('json', 'the value contains a cycle, which JSON cannot represent', pathOrRoot(path));
  }
  seen.add(object);
  try {
    return encodeObject(object, path, context, seen);
  } finally {
    seen.delete(object);
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

function encodeObject(object: object, path: string, context: EncodeContext | undefined, seen: Set<object>): unknown {
  if (Array.isArray(object)) return object.map((item, i) => toJsonValue(item, `${path}[${i}]`, context, seen));
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
  if (object instanceof Map) {
    const entries = [...object].map(([k, v], i) => [
      toJsonValue(k, `${path}<key ${i}>`, context, seen),
      toJsonValue(v, `${path}.get(${JSON.stringify(String(k))})`, context, seen),
    ]);
    return { [JSON_TAG]: 'map', v: entries };
  }
  if (object instanceof Set) {
    return {
      [JSON_TAG]: 'set',
      v: [...object].map((item, i) => toJsonValue(item, `${path}<item ${i}>`, context, seen)),
    };
  }
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(object)) {
    result[key] = toJsonValue(item, path === '' ? key : `${path}.${key}`, context, seen);
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

function fromJsonValue(value: unknown, path: string, context: DecodeContext | undefined): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item, i) => fromJsonValue(item, `${path}[${i}]`, context));
  const object = value as Record<string, unknown>;
  const tag = object[JSON_TAG];
  if (tag === undefined) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(object)) {
      setOwn(result, key, fromJsonValue(item, path === '' ? key : `${path}.${key}`, context));
    }
    return result;
  }
  return decodeTagged(String(tag), object, path, context);
}

function decodeTagged(
  tag: string,
  object: Record<string, unknown>,
  path: string,
  context: DecodeContext | undefined,
): unknown {
  const v = object.v;
  switch (tag) {
    case 'float':
      return decodeFloat(String(v), path);
    case 'int':
      return BigInt(expectString(v, path, tag));
    case 'bytes':
      return new Uint8Array(Buffer.from(expectString(v, path, tag), 'base64'));
    case 'date':
      return new Date(expectString(v, path, tag));
    case 'map':
      return new Map(
        expectArray(v, path, tag).map((entry, i) => {
          const [key, item] = expectArray(entry, `${path}<entry ${i}>`, tag);
          return [fromJsonValue(key, path, context), fromJsonValue(item, path, context)];
        }),
      );
    case 'set':
      return new Set(expectArray(v, path, tag).map((item) => fromJsonValue(item, path, context)));
    case 'ndarray':
      return decodeNdarray(object, path);
    case 'handle': {
      const wire: HandleWire = {
        id: Number(object.id),
        type: String(object.type),
        repr: typeof object.repr === 'string' ? object.repr : undefined,
      };
      return context?.handle ? context.handle(wire) : new HandleRef(wire);
    }
    case 'callback': {
      const index = object.id;
      if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1) {
        throw new SerializationError('json', 'a callback reference needs a positive integer id', pathOrRoot(path));
      }
      return new CallbackRef(index);
    }
    case 'object': {
      const inner = (v ?? {}) as Record<string, unknown>;
      const result: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(inner))
        setOwn(result, key, fromJsonValue(item, `${path}.${key}`, context));
      return result;
    }
    default:
      throw new SerializationError('json', `unknown tag ${JSON.stringify(tag)}`, pathOrRoot(path));
  }
}

/** Sets an own property, even `__proto__`, which plain assignment would turn into a prototype change. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function decodeFloat(text: string, path: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === 'Infinity') return Infinity;
  if (text === '-Infinity') return -Infinity;
  const number = Number(text);
  if (Number.isNaN(number)) throw new SerializationError('json', `bad float ${JSON.stringify(text)}`, pathOrRoot(path));
  return number;
}

function decodeNdarray(object: Record<string, unknown>, path: string): unknown {
  const dtype = String(object.dtype);
  if (!isDType(dtype))
    throw new SerializationError('json', `unsupported dtype ${JSON.stringify(dtype)}`, pathOrRoot(path));
  const shape = expectArray(object.shape, path, 'ndarray').map(Number);
  const data = typedArrayFromBytes(
    dtype,
    new Uint8Array(Buffer.from(expectString(object.v, path, 'ndarray'), 'base64')),
  );
  // One-dimensional arrays arrive as plain typed arrays, except uint8 which would read as bytes.
  return shape.length === 1 && dtype !== 'uint8' ? data : new NDArray(data, shape);
}

function expectString(value: unknown, path: string, tag: string): string {
  if (typeof value !== 'string') throw new SerializationError('json', `tag ${tag} needs a string`, pathOrRoot(path));
  return value;
}

function expectArray(value: unknown, path: string, tag: string): unknown[] {
  if (!Array.isArray(value)) throw new SerializationError('json', `tag ${tag} needs an array`, pathOrRoot(path));
  return value;
}

/** The JSON serializer. */
export function createJsonSerializer(): JsonSerializer {
  return new JsonSerializer();
}

// Messages of the user's schema, driven by protobufjs reflection: values are
// checked against the message type while they are written (a wrong type or an
// unknown field throws a SerializationError naming the field), and decoded
// messages become plain objects. Written field by field rather than through
// protobufjs's own encode, which accepts values it would have to coerce.

import { NESTING_REFUSAL } from '@snakebridge/core';
import protobuf from 'protobufjs';
import {
  type DecodeState,
  decodeState,
  deeper,
  type EncodeState,
  readTimestamp,
  readValue,
  writeTimestamp,
  writeValue,
} from './value-codec.js';
import {
  child,
  delimitedEnd,
  describe,
  expectWireType,
  fromLong,
  INT64_MAX,
  INT64_MIN,
  malformed,
  type Reader,
  readFixed64,
  readString,
  readVarint64,
  readView,
  readZigZag64,
  refuse,
  skipField,
  toLong,
  UINT64_MAX,
  WireType,
  type Writer,
  wellFormed,
} from './wire.js';

const TIMESTAMP = '.google.protobuf.Timestamp';
const VALUE = '.snakebridge.Value';

type Scalar =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

const WIRE_TYPES: Readonly<Record<Scalar | 'enum' | 'message', number>> = {
  double: WireType.fixed64,
  float: WireType.fixed32,
  int32: WireType.varint,
  int64: WireType.varint,
  uint32: WireType.varint,
  uint64: WireType.varint,
  sint32: WireType.varint,
  sint64: WireType.varint,
  fixed32: WireType.fixed32,
  fixed64: WireType.fixed64,
  sfixed32: WireType.fixed32,
  sfixed64: WireType.fixed64,
  bool: WireType.varint,
  string: WireType.bytes,
  bytes: WireType.bytes,
  enum: WireType.varint,
  message: WireType.bytes,
};

/** How one field is written and read, worked out once per message type. */
interface FieldPlan {
  readonly name: string;
  readonly jsonName: string;
  readonly number: number;
  readonly kind: Scalar | 'enum' | 'message';
  readonly repeated: boolean;
  /** Key type of a map field. */
  readonly mapKey: Scalar | undefined;
  /** Whether an unset field is left out when decoding (rather than given its default). */
  readonly presence: boolean;
  readonly packed: boolean;
  readonly required: boolean;
  /** The real oneof this field belongs to (not the synthetic one of a proto3 `optional`). */
  readonly oneof: protobuf.OneOf | undefined;
  readonly enumType: protobuf.Enum | undefined;
  readonly messageType: protobuf.Type | undefined;
  /** `int32`, `demo.User`, `map<string, int64>`, `repeated string`: for error messages. */
  readonly typeName: string;
}

interface MessagePlan {
  readonly type: protobuf.Type;
  readonly name: string;
  /** Declaration order: the order positional arguments map onto. */
  readonly fields: readonly FieldPlan[];
  readonly byNumber: ReadonlyMap<number, FieldPlan>;
  /** By proto name and by JSON (lowerCamelCase) name. */
  readonly byName: ReadonlyMap<string, FieldPlan>;
  /** Field number order: the order fields are written in, as protobuf's own encoders do. */
  readonly writeOrder: readonly FieldPlan[];
}

const plans = new WeakMap<protobuf.Type, MessagePlan>();

function planOf(type: protobuf.Type): MessagePlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = makePlan(type);
    plans.set(type, plan);
  }
  return plan;
}

function makePlan(type: protobuf.Type): MessagePlan {
  const fields = type.fieldsArray.map((field) => planField(type, field));
  const byName = new Map<string, FieldPlan>();
  for (const field of fields) {
    byName.set(field.name, field);
    if (!byName.has(field.jsonName)) byName.set(field.jsonName, field);
  }
  return {
    type,
    name: type.fullName.slice(1),
    fields,
    byNumber: new Map(fields.map((field) => [field.number, field])),
    byName,
    writeOrder: [...fields].sort((a, b) => a.number - b.number),
  };
}

function planField(owner: protobuf.Type, field: protobuf.Field): FieldPlan {
  const resolved = field.resolve().resolvedType;
  if (field.delimited) {
    throw new Error(`${owner.fullName.slice(1)}.${field.name}: groups (delimited encoding) are not supported`);
  }
  const kind: FieldPlan['kind'] =
    resolved instanceof protobuf.Type ? 'message' : resolved instanceof protobuf.Enum ? 'enum' : (field.type as Scalar);
  const map = field instanceof protobuf.MapField;
  const repeated = field.repeated || map;
  const syntheticOneof = Boolean(field.options?.proto3_optional);
  const baseName = resolved === null ? field.type : resolved.fullName.slice(1);
  const mapKey = map ? ((field as protobuf.MapField).keyType as Scalar) : undefined;
  return {
    name: field.name,
    jsonName: field.jsonName ?? protobuf.util.camelCase(field.name),
    number: field.id,
    kind,
    repeated,
    mapKey,
    presence: !repeated && (kind === 'message' || Boolean(field.hasPresence)),
    packed: field.repeated && !map && field.packed && WIRE_TYPES[kind] !== WireType.bytes,
    required: field.required,
    oneof: field.partOf !== null && !syntheticOneof ? field.partOf : undefined,
    enumType: resolved instanceof protobuf.Enum ? resolved : undefined,
    messageType: resolved instanceof protobuf.Type ? resolved : undefined,
    typeName: map ? `map<${mapKey}, ${baseName}>` : field.repeated ? `repeated ${baseName}` : baseName,
  };
}

/** Checks every message type reachable from `type` can be planned (no groups), so a bad schema fails at load. */
export function checkType(type: protobuf.Type, seen = new Set<protobuf.Type>()): void {
  if (seen.has(type)) return;
  seen.add(type);
  for (const field of planOf(type).fields) if (field.messageType) checkType(field.messageType, seen);
}

// --- encoding -------------------------------------------------------------------

const tag = (number: number, wireType: number): number => ((number << 3) | wireType) >>> 0;

/** Writes `value` as a message of `type`, checking it field by field. `path` names it in errors. */
export function writeMessage(
  writer: Writer,
  type: protobuf.Type,
  value: unknown,
  state: EncodeState,
  path: string,
): void {
  const plan = planOf(type);
  if (type.fullName === TIMESTAMP && value instanceof Date) {
    writeTimestamp(writer, value, path);
    return;
  }
  deeper(
    state,
    () => refuse(NESTING_REFUSAL, path),
    () => writeChecked(writer, plan, value, state, path),
  );
}

/** The fields of `value`, checked against the message's plan as they are written. */
function writeChecked(writer: Writer, plan: MessagePlan, value: unknown, state: EncodeState, path: string): void {
  if (!isPlainObject(value)) {
    throw refuse(`expected a ${plan.name} (an object of its fields), got ${describe(value)}`, path);
  }
  const given = new Map<FieldPlan, unknown>();
  for (const [key, item] of Object.entries(value)) {
    const field = plan.byName.get(key);
    if (field === undefined) throw unknownField(plan, key, path);
    if (given.has(field)) {
      throw refuse(`${field.name} is given twice (as ${field.name} and as ${field.jsonName})`, child(path, key));
    }
    if (item !== undefined && !(item === null && field.messageType?.fullName !== VALUE)) given.set(field, item);
  }
  writeFields(writer, plan, given, state, path);
}

/**
 * Writes the request message of a call from `[args, kwargs]`: positional
 * arguments fill the fields in declaration order, keyword arguments fill
 * fields by name (proto name or lowerCamelCase JSON name).
 */
export function writeRequest(writer: Writer, type: protobuf.Type, value: unknown, state: EncodeState): void {
  const plan = planOf(type);
  const [args, kwargs] = Array.isArray(value) && value.length === 2 ? value : [undefined, undefined];
  if (!Array.isArray(args) || (kwargs != null && !isPlainObject(kwargs))) {
    throw refuse(`call arguments must be [args, kwargs] to fill a ${plan.name}`, 'args');
  }
  if (args.length > plan.fields.length) {
    throw refuse(
      `${plan.name} has ${plan.fields.length} field(s) (${plan.fields.map((f) => f.name).join(', ')}), ` +
        `so at most ${plan.fields.length} positional argument(s) fit; got ${args.length}`,
      'args',
    );
  }
  const given = new Map<FieldPlan, unknown>();
  args.forEach((item, i) => {
    const field = plan.fields[i] as FieldPlan;
    if (item !== undefined && !(item === null && field.messageType?.fullName !== VALUE)) given.set(field, item);
  });
  for (const [key, item] of Object.entries((kwargs ?? {}) as Record<string, unknown>)) {
    const field = plan.byName.get(key);
    if (field === undefined) throw unknownField(plan, key, 'args');
    const position = plan.fields.indexOf(field);
    if (position < args.length && args[position] !== undefined) {
      throw refuse(
        `${field.name} is given twice: as positional argument ${position} and as a keyword`,
        child('args', field.name),
      );
    }
    if (item !== undefined && !(item === null && field.messageType?.fullName !== VALUE)) given.set(field, item);
  }
  writeFields(writer, plan, given, state, 'args');
}

function unknownField(plan: MessagePlan, key: string, path: string) {
  return refuse(
    `${plan.name} has no field '${key}'; its fields: ${plan.fields.map((f) => f.name).join(', ')}`,
    child(path, key),
  );
}

function writeFields(
  writer: Writer,
  plan: MessagePlan,
  given: Map<FieldPlan, unknown>,
  state: EncodeState,
  path: string,
): void {
  const oneofs = new Map<protobuf.OneOf, FieldPlan>();
  for (const field of plan.writeOrder) {
    const value = given.get(field);
    if (value === undefined) {
      if (field.required)
        throw refuse(`the required field ${field.name} of ${plan.name} is missing`, child(path, field.name));
      continue;
    }
    if (field.oneof !== undefined) {
      const other = oneofs.get(field.oneof);
      if (other !== undefined) {
        throw refuse(
          `${other.name} and ${field.name} are both set, but only one field of the oneof ${field.oneof.name} may be`,
          child(path, field.name),
        );
      }
      oneofs.set(field.oneof, field);
    }
    writeField(writer, field, value, state, child(path, field.name));
  }
}

function writeField(writer: Writer, field: FieldPlan, value: unknown, state: EncodeState, path: string): void {
  if (field.mapKey !== undefined) {
    writeMap(writer, field, value, state, path);
    return;
  }
  if (field.repeated) {
    if (!isList(value)) throw refuse(`expected ${field.typeName} (an array), got ${describe(value)}`, path);
    const items = Array.from(value as ArrayLike<unknown>);
    if (field.packed) {
      if (items.length === 0) return;
      const checked = items.map((item, i) => checkSingle(field, item, `${path}[${i}]`));
      writer.uint32(tag(field.number, WireType.bytes)).fork();
      for (const item of checked) writeScalar(writer, field.kind as Scalar | 'enum', item);
      writer.ldelim();
      return;
    }
    items.forEach((item, i) => {
      writeSingle(writer, field, item, state, `${path}[${i}]`, true);
    });
    return;
  }
  writeSingle(writer, field, value, state, path, field.presence);
}

/** One value of a field (a singular field, or one item of a repeated one). */
function writeSingle(
  writer: Writer,
  field: FieldPlan,
  value: unknown,
  state: EncodeState,
  path: string,
  writeDefault: boolean,
): void {
  if (field.messageType !== undefined) {
    writer.uint32(tag(field.number, WireType.bytes)).fork();
    writeMessageValue(writer, field.messageType, value, state, path);
    writer.ldelim();
    return;
  }
  const checked = checkSingle(field, value, path);
  if (!writeDefault && isDefault(checked)) return;
  writer.uint32(tag(field.number, WIRE_TYPES[field.kind]));
  writeScalar(writer, field.kind as Scalar | 'enum', checked);
}

function writeMessageValue(
  writer: Writer,
  type: protobuf.Type,
  value: unknown,
  state: EncodeState,
  path: string,
): void {
  if (type.fullName === VALUE) writeValue(writer, value, state, path);
  else writeMessage(writer, type, value, state, path);
}

function writeMap(writer: Writer, field: FieldPlan, value: unknown, state: EncodeState, path: string): void {
  const keyKind = field.mapKey as Scalar;
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value];
  else if (isPlainObject(value)) entries = Object.entries(value);
  else throw refuse(`expected ${field.typeName} (an object or a Map), got ${describe(value)}`, path);
  const checked = entries.map(([key, item]) => {
    const entryPath = `${path}[${JSON.stringify(String(key))}]`;
    return [checkMapKey(keyKind, key, value instanceof Map, entryPath), item, entryPath] as const;
  });
  // Sorted by key, as protobuf's deterministic serialization does, so equal maps give equal bytes.
  checked.sort(([a], [b]) => compareKeys(a, b));
  const valueField: FieldPlan = { ...field, number: 2, repeated: false, mapKey: undefined, presence: true };
  for (const [key, item, entryPath] of checked) {
    if (item === null || item === undefined) {
      if (field.messageType?.fullName !== VALUE || item === undefined) {
        throw refuse(`a map value cannot be ${describe(item)}`, entryPath);
      }
    }
    writer.uint32(tag(field.number, WireType.bytes)).fork();
    writer.uint32(tag(1, WIRE_TYPES[keyKind]));
    writeScalar(writer, keyKind, key);
    writeSingle(writer, valueField, item, state, entryPath, true);
    writer.ldelim();
  }
}

function checkMapKey(kind: Scalar, key: unknown, fromMap: boolean, path: string): Checked {
  if (kind === 'string') {
    if (typeof key !== 'string') throw refuse(`expected a string key, got ${describe(key)}`, path);
    return key;
  }
  if (kind === 'bool') {
    if (typeof key === 'boolean') return key;
    if (!fromMap && (key === 'true' || key === 'false')) return key === 'true';
    throw refuse(`expected a bool key, got ${describe(key)}`, path);
  }
  // Object keys are strings: an integer key is written as its digits.
  if (!fromMap && typeof key === 'string' && /^-?\d+$/.test(key)) return checkScalar(kind, BigInt(key), path);
  return checkScalar(kind, key, path);
}

function compareKeys(a: Checked, b: Checked): number {
  if (typeof a === 'string' && typeof b === 'string') return compareUtf8(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = BigInt(a as number | bigint);
  const y = BigInt(b as number | bigint);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Orders strings as their UTF-8 bytes (code point order), as protobuf's deterministic
 * serialization sorts map keys. UTF-16 order differs only where a surrogate pair meets a
 * code unit above U+E000; shifting those two ranges past each other fixes it, without allocating.
 */
function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

type Checked = number | bigint | boolean | string | Uint8Array;

function checkSingle(field: FieldPlan, value: unknown, path: string): Checked {
  if (field.kind === 'enum') return checkEnum(field.enumType as protobuf.Enum, value, path);
  return checkScalar(field.kind as Scalar, value, path);
}

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;
const UINT32 = [0, 2 ** 32 - 1] as const;

/** The value as the writer takes it, or a SerializationError saying what was expected. */
function checkScalar(kind: Scalar, value: unknown, path: string): Checked {
  const wrong = (what: string = kind): never => {
    throw refuse(`expected ${what}, got ${describe(value)}`, path);
  };
  switch (kind) {
    case 'double':
    case 'float':
      return typeof value === 'number' ? value : wrong();
    case 'int32':
    case 'sint32':
    case 'sfixed32':
    case 'uint32':
    case 'fixed32': {
      const [min, max] = kind === 'uint32' || kind === 'fixed32' ? UINT32 : INT32;
      const number = typeof value === 'bigint' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isInteger(number)) return wrong();
      if (number < min || number > max) return wrong(`${kind} (${min} to ${max})`);
      return number === 0 ? 0 : number;
    }
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64': {
      const unsigned = kind === 'uint64' || kind === 'fixed64';
      if (typeof value === 'number' && !Number.isSafeInteger(value)) {
        return wrong(Number.isInteger(value) ? `${kind} (a safe integer or a bigint)` : kind);
      }
      if (typeof value !== 'number' && typeof value !== 'bigint') return wrong();
      const big = BigInt(value);
      const [min, max] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
      if (big < min || big > max) return wrong(`${kind} (${min} to ${max})`);
      return big;
    }
    case 'bool':
      return typeof value === 'boolean' ? value : wrong();
    case 'string':
      return typeof value === 'string' ? wellFormed(value) : wrong();
    case 'bytes':
      return value instanceof Uint8Array ? value : wrong('bytes (a Uint8Array)');
    default:
      throw refuse(`unsupported field type ${kind as string}`, path);
  }
}

function checkEnum(type: protobuf.Enum, value: unknown, path: string): number {
  const name = type.fullName.slice(1);
  if (typeof value === 'string') {
    const number = type.values[value];
    if (number === undefined) {
      throw refuse(
        `${JSON.stringify(value)} is not a value of ${name}; its values: ${Object.keys(type.values).join(', ')}`,
        path,
      );
    }
    return number;
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= INT32[0] && value <= INT32[1]) {
    // Open (proto3) enums keep numbers they do not know; closed (proto2) ones do not.
    const closed = (type as unknown as { _features?: { enum_type?: string } })._features?.enum_type === 'CLOSED';
    if (closed && type.valuesById[value] === undefined) throw refuse(`${value} is not a value of ${name}`, path);
    return value;
  }
  throw refuse(`expected ${name} (a value name or number), got ${describe(value)}`, path);
}

function isDefault(value: Checked): boolean {
  return (
    value === 0 ||
    value === 0n ||
    value === false ||
    value === '' ||
    (value instanceof Uint8Array && value.length === 0)
  );
}

function writeScalar(writer: Writer, kind: Scalar | 'enum', value: Checked): void {
  switch (kind) {
    case 'double':
      writer.double(value as number);
      return;
    case 'float':
      writer.float(value as number);
      return;
    case 'int32':
    case 'enum':
      writer.int32(value as number);
      return;
    case 'sint32':
      writer.sint32(value as number);
      return;
    case 'sfixed32':
      writer.sfixed32(value as number);
      return;
    case 'uint32':
      writer.uint32(value as number);
      return;
    case 'fixed32':
      writer.fixed32(value as number);
      return;
    case 'int64':
    case 'uint64':
      writer.int64(toLong(value as bigint) as never);
      return;
    case 'sint64':
      writer.sint64(toLong(value as bigint) as never);
      return;
    case 'fixed64':
    case 'sfixed64':
      writer.fixed64(toLong(value as bigint) as never);
      return;
    case 'bool':
      writer.bool(value as boolean);
      return;
    case 'string':
      writer.string(value as string);
      return;
    case 'bytes':
      writer.bytes(value as Uint8Array);
      return;
  }
}

// --- decoding -------------------------------------------------------------------

/**
 * Reads a message of `type` up to `end` as a plain object: fields in
 * declaration order; unset fields without presence get their default, unset
 * fields with presence are left out. Unknown fields are skipped.
 */
export function readMessage(reader: Reader, type: protobuf.Type, end: number, state: DecodeState): unknown {
  if (type.fullName === TIMESTAMP) return readTimestamp(reader, end);
  state.steps += 1;
  return deeper(
    state,
    () => malformed(reader, NESTING_REFUSAL),
    () => readFields(reader, planOf(type), end, state),
  );
}

/** The fields of a message, as readMessage returns them. */
function readFields(reader: Reader, plan: MessagePlan, end: number, state: DecodeState): unknown {
  const values = new Map<FieldPlan, unknown>();
  while (reader.pos < end) {
    const key = reader.uint32();
    const field = plan.byNumber.get(key >>> 3);
    if (field === undefined) {
      skipField(reader, key & 7);
      continue;
    }
    const wireType = key & 7;
    if (field.mapKey !== undefined) {
      expectWireType(reader, wireType, WireType.bytes, `${plan.name}.${field.name}`);
      const [mapKey, item] = readMapEntry(reader, field, delimitedEnd(reader), state);
      const map = (values.get(field) as Map<unknown, unknown> | undefined) ?? new Map<unknown, unknown>();
      values.set(field, map);
      map.set(mapKey, item);
    } else if (field.repeated) {
      const list = (values.get(field) as unknown[] | undefined) ?? [];
      values.set(field, list);
      if (wireType === WireType.bytes && WIRE_TYPES[field.kind] !== WireType.bytes) {
        const packedEnd = delimitedEnd(reader);
        while (reader.pos < packedEnd) list.push(readSingle(reader, field, state));
      } else {
        expectWireType(reader, wireType, WIRE_TYPES[field.kind], `${plan.name}.${field.name}`);
        list.push(readSingle(reader, field, state));
      }
    } else {
      expectWireType(reader, wireType, WIRE_TYPES[field.kind], `${plan.name}.${field.name}`);
      if (field.oneof !== undefined) {
        for (const other of plan.fields) if (other.oneof === field.oneof) values.delete(other);
      }
      values.set(field, readSingle(reader, field, state));
    }
  }
  if (reader.pos !== end) throw malformed(reader, `a ${plan.name} runs past the end of its field`);
  const result: Record<string, unknown> = {};
  for (const field of plan.fields) {
    let value = values.get(field);
    if (value === undefined) {
      if (field.required) throw malformed(reader, `the required field ${plan.name}.${field.name} is missing`);
      if (field.presence) continue;
      value = defaultOf(field);
    } else if (field.mapKey !== undefined) {
      value = field.mapKey === 'string' ? Object.fromEntries(value as Map<string, unknown>) : value;
    }
    // defineProperty, so that a field named __proto__ is a field and not the object's prototype.
    Object.defineProperty(result, field.name, { value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

function readMapEntry(reader: Reader, field: FieldPlan, end: number, state: DecodeState): [unknown, unknown] {
  const keyKind = field.mapKey as Scalar;
  let key: unknown;
  let value: unknown;
  while (reader.pos < end) {
    const fieldKey = reader.uint32();
    const number = fieldKey >>> 3;
    if (number === 1) {
      expectWireType(reader, fieldKey & 7, WIRE_TYPES[keyKind], `the key of ${field.name}`);
      key = readScalar(reader, keyKind);
    } else if (number === 2) {
      expectWireType(reader, fieldKey & 7, WIRE_TYPES[field.kind], `a value of ${field.name}`);
      value = readSingle(reader, field, state);
    } else {
      skipField(reader, fieldKey & 7);
    }
  }
  return [key ?? scalarDefault(keyKind), value ?? singleDefault(field)];
}

function readSingle(reader: Reader, field: FieldPlan, state: DecodeState): unknown {
  if (field.messageType !== undefined) {
    const end = delimitedEnd(reader);
    return field.messageType.fullName === VALUE
      ? readValue(reader, end, state)
      : readMessage(reader, field.messageType, end, state);
  }
  if (field.kind === 'enum') {
    const number = reader.int32();
    return (field.enumType as protobuf.Enum).valuesById[number] ?? number;
  }
  return readScalar(reader, field.kind as Scalar);
}

function readScalar(reader: Reader, kind: Scalar): unknown {
  switch (kind) {
    case 'double':
      return reader.double();
    case 'float':
      return reader.float();
    case 'int32':
      return reader.int32();
    case 'sint32':
      return reader.sint32();
    case 'sfixed32':
      return reader.sfixed32();
    case 'uint32':
      return reader.uint32();
    case 'fixed32':
      return reader.fixed32();
    case 'int64':
      return fromLong(readVarint64(reader), false);
    case 'sint64':
      return fromLong(readZigZag64(reader), false);
    case 'sfixed64':
      return fromLong(readFixed64(reader), false);
    case 'uint64':
      return fromLong(readVarint64(reader), true);
    case 'fixed64':
      return fromLong(readFixed64(reader), true);
    case 'bool':
      return reader.bool();
    case 'string':
      return readString(reader);
    case 'bytes':
      return readView(reader).slice();
  }
}

function scalarDefault(kind: Scalar): unknown {
  switch (kind) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64':
      return 0n;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array();
    default:
      return 0;
  }
}

/** The default of one value of a field: its zero, the enum's zero value, or an empty message. */
function singleDefault(field: FieldPlan): unknown {
  if (field.kind === 'enum') return (field.enumType as protobuf.Enum).valuesById[0] ?? 0;
  if (field.messageType !== undefined) {
    if (field.messageType.fullName === VALUE) return null;
    return readMessage(new protobuf.Reader(new Uint8Array()), field.messageType, 0, decodeState(undefined, undefined));
  }
  return scalarDefault(field.kind as Scalar);
}

function defaultOf(field: FieldPlan): unknown {
  if (field.mapKey !== undefined) return field.mapKey === 'string' ? {} : new Map();
  if (field.repeated) return [];
  return singleDefault(field);
}

// --- helpers ----------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isList(value: unknown): boolean {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

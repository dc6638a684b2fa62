// Checks an Arrow IPC stream from a worker before apache-arrow reads it.
//
// apache-arrow trusts its input: it sizes loops and allocations from the
// counts and lengths in the metadata (one corrupted vector length had it
// build four billion fields, block the event loop for half a minute and
// exhaust the heap), reads past the end of a buffer as zeros, and backfills a
// column shorter than its batch with a null bitmap sized from the batch's
// declared length. So everything it will read is checked here first, on the
// main thread, in time linear in the stream's size:
//
// - the framing: continuation markers, metadata and body lengths within the
//   stream, one schema first, then dictionary and record batches only;
// - every flatbuffer read apache-arrow makes (flatbuffer.ts), the work of
//   reading it counted against a budget proportional to the stream's size;
// - the schema: supported types with valid parameters, nesting at most
//   ARROW_MAX_NESTING deep (as the Arrow C++ reader, so pyarrow, allows);
// - each batch against the schema, as apache-arrow's VectorLoader consumes
//   it: exactly the field nodes and buffers the schema needs, lengths and
//   null counts within bounds and consistent between a column and its batch
//   and between a parent and its children, buffers 8-aligned, inside the
//   body, not overlapping, and long enough for the values they hold; offsets
//   ordered and within their data, view and dictionary indices and union type
//   ids pointing at something that exists.
//
// Bodies must be uncompressed (neither side of SnakeBridge compresses them),
// so no declared decompressed size is ever trusted.
//
// This is sufficient because apache-arrow's decoding does nothing but read
// these structures: after the check, each of its loops runs over a count the
// stream has room for, each allocation is a view or a copy of a checked body
// range, and nothing it reads lies outside the stream. A stream that passes
// is one apache-arrow decodes in time and memory linear in its size.

import { Budget, Flatbuffer, InvalidArrow, type Table } from './flatbuffer.js';

export { InvalidArrow } from './flatbuffer.js';

/** How deep Arrow types may nest: the Arrow C++ reader's limit, so pyarrow's too. */
export const ARROW_MAX_NESTING = 64;
/** The most rows in one batch or column: apache-arrow indexes rows with 32-bit integers. */
export const ARROW_MAX_ROWS = 2 ** 31 - 1;
/** The work a check may do per byte of stream (it needs about two for a valid one). */
const WORK_PER_BYTE = 16;
const WORK_SLACK = 4096;

const MessageHeader = { schema: 1, dictionaryBatch: 2, recordBatch: 3 } as const;
/** Arrow's MetadataVersion: V4 and V5 are what 1.0 and later write (earlier ones apache-arrow reads another way). */
const V4 = 3;
const V5 = 4;

/** Arrow's Type union, as numbered in Schema.fbs. */
const TypeId = {
  null: 1,
  int: 2,
  floatingPoint: 3,
  binary: 4,
  utf8: 5,
  bool: 6,
  decimal: 7,
  date: 8,
  time: 9,
  timestamp: 10,
  interval: 11,
  list: 12,
  struct: 13,
  union: 14,
  fixedSizeBinary: 15,
  fixedSizeList: 16,
  map: 17,
  duration: 18,
  largeBinary: 19,
  largeUtf8: 20,
  largeList: 21,
  binaryView: 23,
  utf8View: 24,
} as const;

/** How a column's buffers are laid out, as apache-arrow's VectorLoader reads them. */
type Layout =
  | { readonly kind: 'null' }
  | { readonly kind: 'fixed'; readonly width: number }
  | { readonly kind: 'bits' }
  | { readonly kind: 'binary'; readonly offsetWidth: 4 | 8 }
  | { readonly kind: 'view' }
  | { readonly kind: 'list'; readonly offsetWidth: 4 | 8 }
  | { readonly kind: 'fixedList'; readonly size: number }
  | { readonly kind: 'struct' }
  | { readonly kind: 'union'; readonly dense: boolean; readonly ids: readonly number[] };

/** A dictionary-encoded column's index type and dictionary. */
interface Encoding {
  readonly id: number;
  readonly indexWidth: number;
}

/** A field of the schema, reduced to what its columns must look like. */
interface Shape {
  readonly name: string;
  readonly layout: Layout;
  readonly children: readonly Shape[];
  readonly encoding: Encoding | undefined;
}

/** What a check found; `work` is what the fuzz tests hold to the stream's size. */
export interface StreamReport {
  readonly messages: number;
  readonly batches: number;
  readonly work: number;
}

/**
 * Checks that `stream` is an Arrow IPC stream apache-arrow can decode safely
 * (see the top of this file).
 *
 * @throws InvalidArrow naming what is wrong.
 */
export function checkArrowStream(stream: Uint8Array): StreamReport {
  return new StreamCheck(stream).run();
}

class StreamCheck {
  readonly #stream: Uint8Array;
  readonly #view: DataView;
  readonly #budget: Budget;
  #fields: readonly Shape[] | undefined;
  #version = V5;
  /** The value shape of each dictionary id, and the length its dictionary has so far. */
  readonly #dictionaries = new Map<number, Shape>();
  readonly #dictionaryLengths = new Map<number, number>();
  #messages = 0;
  #batches = 0;

  constructor(stream: Uint8Array) {
    this.#stream = stream;
    this.#view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    this.#budget = new Budget(WORK_PER_BYTE * stream.byteLength + WORK_SLACK);
  }

  run(): StreamReport {
    let pos = 0;
    for (;;) {
      const next = this.#message(pos);
      if (next === undefined) break;
      pos = next;
    }
    if (this.#fields === undefined) throw new InvalidArrow('the stream has no schema');
    return { messages: this.#messages, batches: this.#batches, work: this.#budget.spent };
  }

  /** Checks the message at `pos`; returns where the next one starts, or undefined at the end of the stream. */
  #message(pos: number): number | undefined {
    const size = this.#stream.byteLength;
    if (pos === size) return undefined;
    if (size - pos < 8) throw new InvalidArrow(`a message header is cut short at byte ${pos}`);
    if (this.#view.getInt32(pos, true) !== -1) {
      throw new InvalidArrow(`expected a message (the 0xFFFFFFFF continuation marker) at byte ${pos}`);
    }
    const metadataLength = this.#view.getInt32(pos + 4, true);
    if (metadataLength === 0) {
      if (pos + 8 !== size) throw new InvalidArrow(`${size - pos - 8} bytes follow the end-of-stream marker`);
      return undefined;
    }
    const metaStart = pos + 8;
    if (metadataLength < 0 || metadataLength > size - metaStart) {
      throw new InvalidArrow(`a message at byte ${pos} declares ${metadataLength} bytes of metadata`);
    }
    const metadata = this.#stream.subarray(metaStart, metaStart + metadataLength);
    const message = new Flatbuffer(metadata, this.#budget).root();
    const bodyStart = metaStart + metadataLength;
    const bodyLength = checkedLength(message.int64(3, 0n), size - bodyStart, 'a message body');
    this.#messages += 1;
    this.#header(message, this.#stream.subarray(bodyStart, bodyStart + bodyLength));
    return bodyStart + bodyLength;
  }

  #header(message: Table, body: Uint8Array): void {
    const version = message.int16(0, 0);
    if (version !== V4 && version !== V5) throw new InvalidArrow(`metadata version ${version} is not supported`);
    keyValues(message, 4, 'the message metadata');
    const type = message.uint8(1, 0);
    const header = message.table(2, 'the message header');
    if (header === undefined) throw new InvalidArrow('a message without a header');
    if (this.#fields === undefined) {
      if (type !== MessageHeader.schema) throw new InvalidArrow('the stream does not start with a schema');
      if (body.byteLength !== 0) throw new InvalidArrow('a schema message with a body');
      this.#version = version;
      this.#fields = this.#schema(header);
    } else if (type === MessageHeader.recordBatch) {
      this.#recordBatch(header, body, this.#fields);
      this.#batches += 1;
    } else if (type === MessageHeader.dictionaryBatch) {
      this.#dictionaryBatch(header, body);
    } else {
      throw new InvalidArrow(`message type ${type} where a record or dictionary batch should be`);
    }
  }

  #schema(schema: Table): readonly Shape[] {
    if (schema.int16(0, 0) !== 0) throw new InvalidArrow('a big-endian stream (apache-arrow reads little-endian only)');
    keyValues(schema, 2, 'the schema metadata');
    schema.vector(3, 8, 'the schema features');
    return schema.tables(1, 'the schema fields').map((field) => this.#field(field, 1, this.#dictionaries));
  }

  #field(field: Table, depth: number, dictionaries: Map<number, Shape>): Shape {
    if (depth > ARROW_MAX_NESTING) throw new InvalidArrow(`types nested more than ${ARROW_MAX_NESTING} deep`);
    this.#budget.spend(1);
    const name = field.string(0, 'a field name') ?? '';
    keyValues(field, 6, `the metadata of field ${name}`);
    const encoding = dictionaryEncoding(field, name);
    // apache-arrow takes a dictionary's value type from the first field with its id; later ones only index it.
    const defines = encoding === undefined || !dictionaries.has(encoding.id);
    const scope = defines ? dictionaries : new Map<number, Shape>();
    const children = field
      .tables(5, `the children of field ${name}`)
      .map((child) => this.#field(child, depth + 1, scope));
    const shape: Shape = { name, layout: layoutOf(field, name, children), children, encoding: undefined };
    if (encoding === undefined) return shape;
    if (defines) dictionaries.set(encoding.id, shape);
    return { ...shape, encoding };
  }

  #dictionaryBatch(batch: Table, body: Uint8Array): void {
    const id = safeNumber(batch.int64(0, 0n), 'a dictionary id');
    const shape = this.#dictionaries.get(id);
    if (shape === undefined) throw new InvalidArrow(`a dictionary batch for id ${id}, which no field uses`);
    const data = batch.table(1, 'the dictionary batch data');
    if (data === undefined) throw new InvalidArrow(`the dictionary batch for id ${id} has no data`);
    const length = this.#recordBatch(data, body, [shape]);
    const before = this.#dictionaryLengths.get(id);
    const delta = batch.bool(2) && before !== undefined;
    // apache-arrow concatenates a delta and caches its values anew: work in the dictionary's whole length.
    if (delta) this.#budget.spend(before + length);
    const total = delta ? before + length : length;
    if (total > ARROW_MAX_ROWS) throw new InvalidArrow(`dictionary ${id} grows to ${total} values`);
    this.#dictionaryLengths.set(id, total);
  }

  /** Checks a record batch against `fields`; returns its length. */
  #recordBatch(batch: Table, body: Uint8Array, fields: readonly Shape[]): number {
    const length = checkedLength(batch.int64(0, 0n), ARROW_MAX_ROWS, 'a batch length');
    if (batch.field(3, 4) !== undefined) {
      throw new InvalidArrow('the batch is compressed; SnakeBridge sends and accepts uncompressed Arrow only');
    }
    const columns = new Columns(batch, body, this.#budget, this.#version, this.#dictionaryLengths);
    for (const field of fields) {
      const columnLength = columns.visit(field);
      if (columnLength !== length) {
        throw new InvalidArrow(`column ${field.name} has ${columnLength} values in a batch of ${length}`);
      }
    }
    columns.finish();
    return length;
  }
}

/** The buffers and field nodes of one batch, consumed in schema order as apache-arrow's VectorLoader does. */
class Columns {
  readonly #batch: Table;
  readonly #body: Uint8Array;
  readonly #bodyView: DataView;
  readonly #budget: Budget;
  readonly #version: number;
  readonly #dictionaryLengths: ReadonlyMap<number, number>;
  readonly #nodes: { readonly start: number; readonly length: number };
  readonly #buffers: { readonly start: number; readonly length: number };
  readonly #variadic: { readonly start: number; readonly length: number };
  #node = 0;
  #buffer = 0;
  #variadicIndex = 0;
  /** Bytes of body the buffers claim so far: buffers may not overlap, so this stays within the body. */
  #claimed = 0;

  constructor(
    batch: Table,
    body: Uint8Array,
    budget: Budget,
    version: number,
    dictionaryLengths: ReadonlyMap<number, number>,
  ) {
    this.#batch = batch;
    this.#body = body;
    this.#bodyView = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.#budget = budget;
    this.#version = version;
    this.#dictionaryLengths = dictionaryLengths;
    this.#nodes = batch.vector(1, 16, 'the field nodes') ?? { start: 0, length: 0 };
    this.#buffers = batch.vector(2, 16, 'the buffers') ?? { start: 0, length: 0 };
    this.#variadic = batch.vector(4, 8, 'the variadic buffer counts') ?? { start: 0, length: 0 };
  }

  /** Checks the column of `shape` and its children; returns its length. */
  visit(shape: Shape): number {
    const node = this.#nextNode(shape);
    if (shape.encoding !== undefined) {
      this.#indices(node, shape, shape.encoding);
      return node.length;
    }
    const { layout } = shape;
    switch (layout.kind) {
      case 'null':
        return node.length;
      case 'fixed':
        this.#validity(node, shape);
        this.#data(node.length * layout.width, shape);
        return node.length;
      case 'bits':
        this.#validity(node, shape);
        this.#data(Math.ceil(node.length / 8), shape);
        return node.length;
      case 'binary': {
        this.#validity(node, shape);
        const offsets = this.#nextBuffer(shape);
        const data = this.#nextBuffer(shape);
        this.#offsets(offsets, layout.offsetWidth, node.length, data.length, shape);
        return node.length;
      }
      case 'view':
        this.#views(node, shape);
        return node.length;
      default:
        return this.#nested(node, shape, layout);
    }
  }

  /** Every node and buffer must have been used, as many as the schema needs and no more. */
  finish(): void {
    if (this.#node !== this.#nodes.length)
      throw new InvalidArrow(`${this.#nodes.length - this.#node} field nodes too many`);
    if (this.#buffer !== this.#buffers.length)
      throw new InvalidArrow(`${this.#buffers.length - this.#buffer} buffers too many`);
    if (this.#variadicIndex !== this.#variadic.length) {
      throw new InvalidArrow(`${this.#variadic.length - this.#variadicIndex} variadic buffer counts too many`);
    }
  }

  #nested(node: Node, shape: Shape, layout: Layout): number {
    if (layout.kind === 'union') return this.#union(node, shape, layout.dense, layout.ids);
    this.#validity(node, shape);
    if (layout.kind === 'list') {
      const offsets = this.#nextBuffer(shape);
      const childLength = this.visit(shape.children[0] as Shape);
      this.#offsets(offsets, layout.offsetWidth, node.length, childLength, shape);
    } else if (layout.kind === 'fixedList') {
      const childLength = this.visit(shape.children[0] as Shape);
      if (childLength < node.length * layout.size) {
        throw new InvalidArrow(
          `column ${shape.name} needs ${node.length * layout.size} child values, has ${childLength}`,
        );
      }
    } else {
      for (const child of shape.children) {
        const childLength = this.visit(child);
        if (childLength < node.length) {
          throw new InvalidArrow(`column ${child.name} has ${childLength} values in a struct of ${node.length}`);
        }
      }
    }
    return node.length;
  }

  #union(node: Node, shape: Shape, dense: boolean, ids: readonly number[]): number {
    // Before V5 a union had a validity bitmap, which apache-arrow still reads (and ignores).
    if (this.#version < V5) this.#nextBuffer(shape);
    const typeIds = this.#data(node.length, shape);
    const offsets = dense ? this.#data(4 * node.length, shape) : undefined;
    const childLengths = shape.children.map((child) => this.visit(child));
    this.#budget.spend(node.length);
    for (let i = 0; i < node.length; i++) {
      const child = ids.indexOf(this.#body[typeIds.offset + i] as number);
      if (child < 0) throw new InvalidArrow(`column ${shape.name} has a value of an unknown union type`);
      const index = offsets === undefined ? i : this.#bodyView.getInt32(offsets.offset + 4 * i, true);
      if (index < 0 || index >= (childLengths[child] as number)) {
        throw new InvalidArrow(`column ${shape.name} points past the end of its child ${child}`);
      }
    }
    return node.length;
  }

  /** A dictionary-encoded column: validity, then indices into a dictionary that must already have arrived. */
  #indices(node: Node, shape: Shape, encoding: Encoding): void {
    const validity = this.#validity(node, shape);
    const indices = this.#data(node.length * encoding.indexWidth, shape);
    const size = this.#dictionaryLengths.get(encoding.id);
    if (size === undefined) throw new InvalidArrow(`column ${shape.name} arrived before its dictionary ${encoding.id}`);
    this.#budget.spend(node.length);
    for (let i = 0; i < node.length; i++) {
      if (!this.#isValid(validity, i)) continue;
      const index = this.#index(indices.offset + i * encoding.indexWidth, encoding.indexWidth);
      if (index < 0 || index >= size) {
        throw new InvalidArrow(`column ${shape.name} indexes value ${index} of a dictionary of ${size}`);
      }
    }
  }

  /** An index of 1, 2, 4 or 8 bytes; a negative one (signed) or one beyond 2^32 reads as -1. */
  #index(at: number, width: number): number {
    if (width === 1) return this.#bodyView.getInt8(at) < 0 ? -1 : this.#bodyView.getUint8(at);
    if (width === 2) return this.#bodyView.getInt16(at, true) < 0 ? -1 : this.#bodyView.getUint16(at, true);
    if (width === 4) return this.#bodyView.getInt32(at, true) < 0 ? -1 : this.#bodyView.getUint32(at, true);
    return this.#bodyView.getUint32(at + 4, true) !== 0 ? -1 : this.#bodyView.getUint32(at, true);
  }

  /** Binary and UTF-8 views: 16 bytes each, pointing inline or into one of the variadic buffers that follow. */
  #views(node: Node, shape: Shape): void {
    const validity = this.#validity(node, shape);
    const views = this.#data(16 * node.length, shape);
    const count = this.#nextVariadicCount(shape);
    const buffers = Array.from({ length: count }, () => this.#nextBuffer(shape));
    this.#budget.spend(node.length);
    for (let i = 0; i < node.length; i++) {
      if (!this.#isValid(validity, i)) continue;
      const at = views.offset + 16 * i;
      const size = this.#bodyView.getInt32(at, true);
      if (size < 0) throw new InvalidArrow(`column ${shape.name} has a value of ${size} bytes`);
      if (size <= 12) continue;
      const target = buffers[this.#bodyView.getInt32(at + 8, true)];
      const offset = this.#bodyView.getInt32(at + 12, true);
      if (target === undefined || offset < 0 || offset + size > target.length) {
        throw new InvalidArrow(`column ${shape.name} has a value outside its data buffers`);
      }
    }
  }

  /** Offsets (4 or 8 bytes each) into `limit` bytes or child values: from 0 or more, never decreasing. */
  #offsets(buffer: Region, width: 4 | 8, length: number, limit: number, shape: Shape): void {
    if (length === 0) return;
    this.#enough(buffer, (length + 1) * width, shape);
    this.#budget.spend(length);
    let previous = 0;
    for (let i = 0; i <= length; i++) {
      const at = buffer.offset + i * width;
      const value = width === 4 ? this.#bodyView.getInt32(at, true) : this.#int53(at);
      if (value < previous || value > limit) {
        throw new InvalidArrow(`column ${shape.name} has offset ${value} where ${previous} to ${limit} fit`);
      }
      previous = value;
    }
  }

  /** A little-endian 64-bit offset; -1 when it is negative or beyond 2^32, which no body reaches. */
  #int53(at: number): number {
    return this.#bodyView.getUint32(at + 4, true) !== 0 ? -1 : this.#bodyView.getUint32(at, true);
  }

  /** The validity bitmap: read only when the node has nulls, and then one bit a value. */
  #validity(node: Node, shape: Shape): Region | undefined {
    const buffer = this.#nextBuffer(shape);
    if (node.nullCount === 0) return undefined;
    this.#enough(buffer, Math.ceil(node.length / 8), shape);
    return buffer;
  }

  #isValid(validity: Region | undefined, i: number): boolean {
    return validity === undefined || (((this.#body[validity.offset + (i >> 3)] as number) >> (i & 7)) & 1) === 1;
  }

  #data(needed: number, shape: Shape): Region {
    const buffer = this.#nextBuffer(shape);
    this.#enough(buffer, needed, shape);
    return buffer;
  }

  #enough(buffer: Region, needed: number, shape: Shape): void {
    if (buffer.length < needed) {
      throw new InvalidArrow(`column ${shape.name} needs a buffer of ${needed} bytes, has ${buffer.length}`);
    }
  }

  #nextNode(shape: Shape): Node {
    if (this.#node >= this.#nodes.length) throw new InvalidArrow(`no field node left for column ${shape.name}`);
    const at = this.#nodes.start + 16 * this.#node++;
    const bytes = this.#batch;
    const length = checkedLength(int64At(bytes, at), ARROW_MAX_ROWS, `the length of column ${shape.name}`);
    const nullCount = checkedLength(int64At(bytes, at + 8), length, `the null count of column ${shape.name}`);
    this.#budget.spend(1);
    return { length, nullCount };
  }

  #nextBuffer(shape: Shape): Region {
    if (this.#buffer >= this.#buffers.length) throw new InvalidArrow(`no buffer left for column ${shape.name}`);
    const at = this.#buffers.start + 16 * this.#buffer++;
    const size = this.#body.byteLength;
    const offset = checkedLength(int64At(this.#batch, at), size, `a buffer offset of column ${shape.name}`);
    const length = checkedLength(int64At(this.#batch, at + 8), size - offset, `a buffer of column ${shape.name}`);
    if (offset % 8 !== 0) throw new InvalidArrow(`a buffer of column ${shape.name} is not 8-aligned`);
    this.#claimed += length;
    if (this.#claimed > size) throw new InvalidArrow('the buffers overlap: they claim more bytes than the body has');
    this.#budget.spend(1);
    return { offset, length };
  }

  #nextVariadicCount(shape: Shape): number {
    if (this.#variadicIndex >= this.#variadic.length) {
      throw new InvalidArrow(`no variadic buffer count for column ${shape.name}`);
    }
    const at = this.#variadic.start + 8 * this.#variadicIndex++;
    return checkedLength(int64At(this.#batch, at), this.#buffers.length, `the variadic buffers of ${shape.name}`);
  }
}

interface Node {
  readonly length: number;
  readonly nullCount: number;
}

/** A buffer: where it starts in the body and how long it is. */
interface Region {
  readonly offset: number;
  readonly length: number;
}

/** The int64 at `at` in the metadata of `table` (its bounds were checked with the vector it is in). */
function int64At(table: Table, at: number): bigint {
  return table.buffer.int64(at);
}

/** A count or length from the metadata: from 0 to `max`. */
function checkedLength(value: bigint, max: number, what: string): number {
  if (value < 0n || value > BigInt(max)) throw new InvalidArrow(`${what} of ${value} (0 to ${max} fit)`);
  return Number(value);
}

function safeNumber(value: bigint, what: string): number {
  if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArrow(`${what} of ${value}`);
  }
  return Number(value);
}

/** Checks a vector of KeyValue tables (custom metadata), whose strings apache-arrow decodes. */
function keyValues(table: Table, slot: number, what: string): void {
  for (const entry of table.tables(slot, what)) {
    entry.string(0, `a key of ${what}`);
    entry.string(1, `a value of ${what}`);
  }
}

/** A field's dictionary encoding, if it has one: its id and the width of its indices. */
function dictionaryEncoding(field: Table, name: string): Encoding | undefined {
  const encoding = field.table(4, `the dictionary of field ${name}`);
  if (encoding === undefined) return undefined;
  const id = safeNumber(encoding.int64(0, 0n), `the dictionary id of field ${name}`);
  if (encoding.int16(3, 0) !== 0) throw new InvalidArrow(`field ${name} has an unknown dictionary kind`);
  const indexType = encoding.table(1, `the index type of field ${name}`);
  // apache-arrow takes 32-bit signed indices when the type is left out.
  const bitWidth = indexType === undefined ? 32 : indexType.int32(0, 0);
  if (![8, 16, 32, 64].includes(bitWidth)) throw new InvalidArrow(`field ${name} has ${bitWidth}-bit indices`);
  return { id, indexWidth: bitWidth / 8 };
}

/** How the columns of a field's type are laid out, its parameters checked. */
function layoutOf(field: Table, name: string, children: readonly Shape[]): Layout {
  const typeId = field.uint8(2, 0);
  const type = field.table(3, `the type of field ${name}`);
  if (type === undefined) throw new InvalidArrow(`field ${name} has no type`);
  const layout = leafLayout(typeId, type, name) ?? nestedLayout(typeId, type, name, children);
  const takesChildren = ['list', 'fixedList', 'struct', 'union'].includes(layout.kind);
  if (!takesChildren && children.length > 0) throw new InvalidArrow(`field ${name} of a flat type has children`);
  return layout;
}

function leafLayout(typeId: number, type: Table, name: string): Layout | undefined {
  switch (typeId) {
    case TypeId.null:
      return { kind: 'null' };
    case TypeId.bool:
      return { kind: 'bits' };
    case TypeId.int:
      return { kind: 'fixed', width: oneOf(type.int32(0, 0), [8, 16, 32, 64], `the bit width of ${name}`) / 8 };
    case TypeId.floatingPoint:
      return { kind: 'fixed', width: 2 ** (1 + oneOf(type.int16(0, 0), [0, 1, 2], `the precision of ${name}`)) };
    case TypeId.decimal:
      return { kind: 'fixed', width: oneOf(type.int32(2, 128), [32, 64, 128, 256], `the bit width of ${name}`) / 8 };
    case TypeId.date:
      return { kind: 'fixed', width: oneOf(type.int16(0, 1), [0, 1], `the date unit of ${name}`) === 0 ? 4 : 8 };
    case TypeId.time:
      return timeLayout(type, name);
    case TypeId.timestamp:
      oneOf(type.int16(0, 0), [0, 1, 2, 3], `the time unit of ${name}`);
      type.string(1, `the time zone of ${name}`);
      return { kind: 'fixed', width: 8 };
    case TypeId.interval:
      return {
        kind: 'fixed',
        width: [4, 8, 16][oneOf(type.int16(0, 0), [0, 1, 2], `the interval unit of ${name}`)] as number,
      };
    case TypeId.duration:
      oneOf(type.int16(0, 1), [0, 1, 2, 3], `the time unit of ${name}`);
      return { kind: 'fixed', width: 8 };
    case TypeId.fixedSizeBinary:
      return { kind: 'fixed', width: atLeast(type.int32(0, 0), 0, `the byte width of ${name}`) };
    case TypeId.binary:
    case TypeId.utf8:
      return { kind: 'binary', offsetWidth: 4 };
    case TypeId.largeBinary:
    case TypeId.largeUtf8:
      return { kind: 'binary', offsetWidth: 8 };
    case TypeId.binaryView:
    case TypeId.utf8View:
      return { kind: 'view' };
    default:
      return undefined;
  }
}

function timeLayout(type: Table, name: string): Layout {
  const unit = oneOf(type.int16(0, 1), [0, 1, 2, 3], `the time unit of ${name}`);
  const bitWidth = type.int32(1, 32);
  if (bitWidth !== (unit <= 1 ? 32 : 64))
    throw new InvalidArrow(`field ${name} is a ${bitWidth}-bit time of unit ${unit}`);
  return { kind: 'fixed', width: bitWidth / 8 };
}

function nestedLayout(typeId: number, type: Table, name: string, children: readonly Shape[]): Layout {
  switch (typeId) {
    case TypeId.struct:
      return { kind: 'struct' };
    case TypeId.list:
    case TypeId.largeList:
      oneChild(children, name);
      return { kind: 'list', offsetWidth: typeId === TypeId.list ? 4 : 8 };
    case TypeId.map: {
      const entries = oneChild(children, name);
      if (entries.layout.kind !== 'struct' || entries.children.length !== 2 || entries.encoding !== undefined) {
        throw new InvalidArrow(`the entries of map ${name} are not a struct of a key and a value`);
      }
      return { kind: 'list', offsetWidth: 4 };
    }
    case TypeId.fixedSizeList:
      oneChild(children, name);
      return { kind: 'fixedList', size: atLeast(type.int32(0, 0), 0, `the list size of ${name}`) };
    case TypeId.union:
      return unionLayout(type, name, children);
    default:
      throw new InvalidArrow(`field ${name} has type ${typeId}, which apache-arrow cannot read`);
  }
}

function unionLayout(type: Table, name: string, children: readonly Shape[]): Layout {
  const mode = oneOf(type.int16(0, 0), [0, 1], `the union mode of ${name}`);
  const vector = type.vector(1, 4, `the type ids of ${name}`);
  // apache-arrow views the ids as an Int32Array, which needs them 4-aligned; and it has no default for them.
  if (vector === undefined || vector.length !== children.length) {
    throw new InvalidArrow(`union ${name} must list one type id for each of its ${children.length} children`);
  }
  const metadata = type.buffer.bytes;
  if ((metadata.byteOffset + vector.start) % 4 !== 0)
    throw new InvalidArrow(`the type ids of union ${name} are not aligned`);
  const ids = Array.from({ length: vector.length }, (_, i) => type.buffer.int32(vector.start + 4 * i));
  if (ids.some((id) => id < 0 || id > 127) || new Set(ids).size !== ids.length) {
    throw new InvalidArrow(`union ${name} has type ids ${ids.join(', ')}`);
  }
  return { kind: 'union', dense: mode === 1, ids };
}

function oneChild(children: readonly Shape[], name: string): Shape {
  const [child, ...more] = children;
  if (child === undefined || more.length > 0) throw new InvalidArrow(`field ${name} needs exactly one child`);
  return child;
}

function oneOf(value: number, allowed: readonly number[], what: string): number {
  if (!allowed.includes(value)) throw new InvalidArrow(`${what} is ${value}`);
  return value;
}

function atLeast(value: number, min: number, what: string): number {
  if (value < min) throw new InvalidArrow(`${what} is ${value}`);
  return value;
}

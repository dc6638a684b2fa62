// Bounds-checked reading of a flatbuffer: the metadata of each Arrow IPC
// message. apache-arrow reads its metadata with the flatbuffers library,
// which checks nothing (a read past the end gives zeros, a length is taken as
// written), so a corrupted vector length had it decode four billion schema
// fields. Every read here checks what the flatbuffers reader would read, the
// same way it would read it (offsets are signed 32-bit, vtable entries signed
// 16-bit), so that once a message passes, apache-arrow reads only bytes that
// are there, and only as many items as the metadata has room for.

/** Metadata that is not a valid flatbuffer, or not what Arrow allows: the caller names it as an Arrow error. */
export class InvalidArrow extends Error {}

/**
 * The work a check may do, counted in steps, so that a small input cannot
 * make it do a large amount: flatbuffers can point many times at one table or
 * string, which the budget stops from multiplying the work.
 */
export class Budget {
  #left: number;
  spent = 0;

  constructor(limit: number) {
    this.#left = limit;
  }

  spend(steps: number): void {
    this.spent += steps;
    this.#left -= steps;
    if (this.#left < 0) throw new InvalidArrow('the stream asks for more work than its size allows');
  }
}

/** A flatbuffer's bytes, with the reads the generated Arrow classes make, each checked. */
export class Flatbuffer {
  readonly bytes: Uint8Array;
  readonly budget: Budget;
  readonly #view: DataView;
  readonly #utf8 = new TextDecoder();

  constructor(bytes: Uint8Array, budget: Budget) {
    this.bytes = bytes;
    this.budget = budget;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The root table, as `getRootAs…` finds it. */
  root(): Table {
    return this.table(this.#indirect(0, 'the root table'), 'the root table');
  }

  /** The table at `pos`, its vtable checked. */
  table(pos: number, what: string): Table {
    this.#need(pos, 4, what);
    const vtable = pos - this.#view.getInt32(pos, true);
    this.#need(vtable, 4, `the vtable of ${what}`);
    const vtableSize = this.#view.getInt16(vtable, true);
    const tableSize = this.#view.getInt16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new InvalidArrow(`${what} has a vtable of ${vtableSize} bytes`);
    if (tableSize < 4) throw new InvalidArrow(`${what} is ${tableSize} bytes`);
    this.#need(vtable, vtableSize, `the vtable of ${what}`);
    this.#need(pos, tableSize, what);
    this.budget.spend(tableSize);
    return new Table(this, pos, vtable, vtableSize, tableSize, what);
  }

  int8(pos: number): number {
    return this.#view.getInt8(pos);
  }

  uint8(pos: number): number {
    return this.#view.getUint8(pos);
  }

  int16(pos: number): number {
    return this.#view.getInt16(pos, true);
  }

  int32(pos: number): number {
    return this.#view.getInt32(pos, true);
  }

  int64(pos: number): bigint {
    return this.#view.getBigInt64(pos, true);
  }

  /** Where the offset stored at `pos` points: `pos` plus the signed 32-bit value there. */
  indirect(pos: number, what: string): number {
    return this.#indirect(pos, what);
  }

  #indirect(pos: number, what: string): number {
    this.#need(pos, 4, what);
    const target = pos + this.#view.getInt32(pos, true);
    this.#need(target, 4, what);
    return target;
  }

  /** A vector at the offset stored at `pos`: where its elements start and how many there are. */
  vector(pos: number, elementSize: number, what: string): { start: number; length: number } {
    const at = this.#indirect(pos, what);
    const length = this.#view.getInt32(at, true);
    if (length < 0) throw new InvalidArrow(`${what} has ${length} elements`);
    // Checked in this order so that a huge length cannot overflow the sum.
    if (length > (this.bytes.byteLength - at - 4) / elementSize) {
      throw new InvalidArrow(`${what} has ${length} elements, more than the metadata has room for`);
    }
    this.budget.spend(1 + length);
    return { start: at + 4, length };
  }

  /** The UTF-8 string at the offset stored at `pos`. */
  string(pos: number, what: string): string {
    const { start, length } = this.vector(pos, 1, what);
    return this.#utf8.decode(this.bytes.subarray(start, start + length));
  }

  #need(pos: number, size: number, what: string): void {
    if (pos < 0 || size < 0 || pos + size > this.bytes.byteLength) {
      throw new InvalidArrow(`${what} lies outside the metadata`);
    }
  }
}

/** A table: its fields are read by slot, as the generated classes do (slot n is vtable offset 4 + 2n). */
export class Table {
  /** The flatbuffer the table is in. */
  readonly buffer: Flatbuffer;
  readonly pos: number;
  readonly #vtable: number;
  readonly #vtableSize: number;
  readonly #tableSize: number;
  readonly what: string;

  constructor(buffer: Flatbuffer, pos: number, vtable: number, vtableSize: number, tableSize: number, what: string) {
    this.buffer = buffer;
    this.pos = pos;
    this.#vtable = vtable;
    this.#vtableSize = vtableSize;
    this.#tableSize = tableSize;
    this.what = what;
  }

  /** Where field `slot` (of `size` bytes) is, or undefined when it is absent. */
  field(slot: number, size: number): number | undefined {
    const entry = 4 + 2 * slot;
    if (entry >= this.#vtableSize) return undefined;
    const offset = this.buffer.int16(this.#vtable + entry);
    if (offset === 0) return undefined;
    if (offset < 4 || offset + size > this.#tableSize) {
      throw new InvalidArrow(`field ${slot} of ${this.what} lies outside its table`);
    }
    return this.pos + offset;
  }

  int8(slot: number, missing: number): number {
    const at = this.field(slot, 1);
    return at === undefined ? missing : this.buffer.int8(at);
  }

  uint8(slot: number, missing: number): number {
    const at = this.field(slot, 1);
    return at === undefined ? missing : this.buffer.uint8(at);
  }

  int16(slot: number, missing: number): number {
    const at = this.field(slot, 2);
    return at === undefined ? missing : this.buffer.int16(at);
  }

  int32(slot: number, missing: number): number {
    const at = this.field(slot, 4);
    return at === undefined ? missing : this.buffer.int32(at);
  }

  int64(slot: number, missing: bigint): bigint {
    const at = this.field(slot, 8);
    return at === undefined ? missing : this.buffer.int64(at);
  }

  bool(slot: number): boolean {
    return this.int8(slot, 0) !== 0;
  }

  /** The table field `slot` points at, or undefined. */
  table(slot: number, what: string): Table | undefined {
    const at = this.field(slot, 4);
    return at === undefined ? undefined : this.buffer.table(this.buffer.indirect(at, what), what);
  }

  string(slot: number, what: string): string | undefined {
    const at = this.field(slot, 4);
    return at === undefined ? undefined : this.buffer.string(at, what);
  }

  /** A vector of `elementSize`-byte elements, or undefined. */
  vector(slot: number, elementSize: number, what: string): { start: number; length: number } | undefined {
    const at = this.field(slot, 4);
    return at === undefined ? undefined : this.buffer.vector(at, elementSize, what);
  }

  /** The tables of a vector of tables (empty when the field is absent). */
  tables(slot: number, what: string): Table[] {
    const vector = this.vector(slot, 4, what);
    if (vector === undefined) return [];
    const tables: Table[] = [];
    for (let i = 0; i < vector.length; i++) {
      const at = vector.start + 4 * i;
      tables.push(this.buffer.table(this.buffer.indirect(at, `${what}[${i}]`), `${what}[${i}]`));
    }
    return tables;
  }
}

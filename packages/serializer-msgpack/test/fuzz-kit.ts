// Seeded fuzzing of the decoders (*-fuzz.test.ts in each serializer package,
// core's json-fuzz.test.ts, adapter-stdio's call-meta-fuzz.test.ts): inputs
// made from golden vectors by bit flips, byte inserts and deletes,
// truncation, corrupted length fields and splices, plus random bytes. A
// decoder must either decode an input or throw one of its typed errors, and
// its own accounting of the work it did must stay within a fixed multiple of
// the input's size: a count of steps, never the wall clock.
//
// The seed is random unless SNAKEBRIDGE_FUZZ_SEED is set, and every failure
// names it, with the input's number and bytes, so it can be replayed;
// SNAKEBRIDGE_FUZZ_COUNT sets the number of inputs (10,000 by default), and
// SNAKEBRIDGE_FUZZ_DUMP a file to write a failing input to in full.

import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/** A small, fast, seedable generator (sfc32): the same seed always gives the same inputs. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** An integer from 0 to `bound` - 1. */
  below(bound: number): number {
    return bound <= 1 ? 0 : this.next() % bound;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** One input: its bytes and how it was made, for the failure message. */
export interface FuzzInput {
  readonly bytes: Uint8Array;
  readonly how: string;
}

/** Values that break length fields: edges of each width, and sizes near the input's. */
function lengthValues(size: number): number[] {
  return [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    size - 1,
    size + 1,
    2 * size,
  ];
}

const BYTE_VALUES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

type Mutation = (rng: Rng, bytes: Uint8Array, corpus: readonly Uint8Array[]) => FuzzInput;

const MUTATIONS: readonly Mutation[] = [
  function flipBits(rng, bytes) {
    const out = bytes.slice();
    const flips = 1 + rng.below(4);
    const at: number[] = [];
    for (let i = 0; i < flips && out.length > 0; i++) {
      const bit = rng.below(out.length * 8);
      out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
      at.push(bit);
    }
    return { bytes: out, how: `bits ${at.join(', ')} flipped` };
  },
  function setByte(rng, bytes) {
    const out = bytes.slice();
    const at = rng.below(out.length);
    const value = rng.below(3) === 0 ? rng.next() & 0xff : rng.pick(BYTE_VALUES);
    if (out.length > 0) out[at] = value;
    return { bytes: out, how: `byte ${at} set to ${value}` };
  },
  function insertBytes(rng, bytes) {
    const at = rng.below(bytes.length + 1);
    const count = 1 + rng.below(16);
    const inserted = rng.below(2) === 0 ? rng.bytes(count) : new Uint8Array(count).fill(rng.next() & 0xff);
    return {
      bytes: concat(bytes.subarray(0, at), inserted, bytes.subarray(at)),
      how: `${count} bytes inserted at ${at}`,
    };
  },
  function deleteBytes(rng, bytes) {
    const at = rng.below(bytes.length);
    const count = 1 + rng.below(16);
    return { bytes: concat(bytes.subarray(0, at), bytes.subarray(at + count)), how: `${count} bytes deleted at ${at}` };
  },
  function truncate(rng, bytes) {
    const length = rng.below(bytes.length);
    return { bytes: bytes.slice(0, length), how: `cut to ${length} bytes` };
  },
  function corruptLength(rng, bytes) {
    const out = bytes.slice();
    const width = rng.pick([1, 2, 4, 8]);
    const at = rng.below(Math.max(1, out.length - width + 1));
    const value = rng.pick(lengthValues(out.length));
    const littleEndian = rng.below(2) === 0;
    writeUint(out, at, width, value, littleEndian);
    return { bytes: out, how: `${width}-byte ${littleEndian ? 'LE' : 'BE'} field at ${at} set to ${value}` };
  },
  function duplicateRange(rng, bytes) {
    const from = rng.below(bytes.length);
    const length = 1 + rng.below(Math.min(64, Math.max(1, bytes.length - from)));
    const to = rng.below(bytes.length + 1);
    const range = bytes.subarray(from, from + length);
    return {
      bytes: concat(bytes.subarray(0, to), range, bytes.subarray(to)),
      how: `${length} bytes from ${from} copied to ${to}`,
    };
  },
  function splice(rng, bytes, corpus) {
    const other = rng.pick(corpus);
    const head = rng.below(bytes.length + 1);
    const tail = rng.below(other.length + 1);
    return {
      bytes: concat(bytes.subarray(0, head), other.subarray(tail)),
      how: `first ${head} bytes + another from ${tail}`,
    };
  },
];

/** An input made from a random corpus entry by one to three mutations, or random bytes. */
export function mutant(rng: Rng, corpus: readonly Uint8Array[]): FuzzInput {
  if (rng.below(16) === 0) {
    const length = rng.below(rng.below(2) === 0 ? 16 : 256);
    return { bytes: rng.bytes(length), how: `${length} random bytes` };
  }
  const index = rng.below(corpus.length);
  let input: FuzzInput = { bytes: corpus[index] as Uint8Array, how: `vector ${index}` };
  const rounds = 1 + rng.below(3);
  for (let i = 0; i < rounds; i++) {
    const next = rng.pick(MUTATIONS)(rng, input.bytes, corpus);
    input = { bytes: next.bytes, how: `${input.how}, ${next.how}` };
  }
  return input;
}

export interface FuzzOptions {
  /** Names the decoder in failure messages. */
  readonly name: string;
  /** Valid encodings to mutate: golden vectors, and any the suite adds. */
  readonly corpus: readonly Uint8Array[];
  /**
   * Decodes one input and returns the work the decoder's own accounting
   * reports for it (steps, items, bytes visited), or undefined if it keeps
   * none. Throwing is fine if `isTyped` accepts the error.
   */
  decode(bytes: Uint8Array): number | undefined;
  /** True for the errors the decoder may throw: its typed errors. */
  isTyped(error: unknown): boolean;
  /** Work allowed per input byte; the input's length times this, plus `workSlack`. */
  readonly workPerByte?: number | undefined;
  readonly workSlack?: number | undefined;
  /** Makes a fresh structured input (a quarter of the inputs when given): what byte mutations rarely reach. */
  generate?(rng: Rng): Uint8Array;
  /** Overrides SNAKEBRIDGE_FUZZ_COUNT. */
  readonly count?: number | undefined;
}

/** What a run did: how many inputs decoded and how many were refused with a typed error. */
export interface FuzzReport {
  readonly seed: number;
  readonly decoded: number;
  readonly refused: number;
}

/** The seed of this run: SNAKEBRIDGE_FUZZ_SEED, or a random one. */
export function fuzzSeed(): number {
  const fromEnv = process.env.SNAKEBRIDGE_FUZZ_SEED;
  return fromEnv === undefined || fromEnv === '' ? randomInt(2 ** 31) : Number(fromEnv) >>> 0;
}

/** Inputs per run: SNAKEBRIDGE_FUZZ_COUNT, or 10,000. */
export function fuzzCount(): number {
  const fromEnv = Number(process.env.SNAKEBRIDGE_FUZZ_COUNT);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : 10_000;
}

/**
 * A Vitest timeout for a fuzz test: generous, and growing with
 * SNAKEBRIDGE_FUZZ_COUNT for long runs. Only a guard against a hang: the
 * budgets the tests assert are counts of steps, not time.
 */
export function fuzzTimeout(): number {
  return Math.max(60_000, fuzzCount() * 2);
}

/**
 * Runs `decode` on `count` inputs made from the corpus with a seeded
 * generator. Throws, naming the seed, the input's number, how it was made and
 * its bytes, when the decoder throws an untyped error or reports more work
 * than its budget.
 */
export function fuzz(options: FuzzOptions, seed = fuzzSeed()): FuzzReport {
  const rng = new Rng(seed ^ nameHash(options.name));
  const count = options.count ?? fuzzCount();
  let decoded = 0;
  let refused = 0;
  for (let index = 0; index < count; index++) {
    const input =
      options.generate !== undefined && rng.below(4) === 0
        ? { bytes: options.generate(rng), how: 'generated' }
        : mutant(rng, options.corpus);
    const outcome = runOne(options, input.bytes);
    if (outcome.failure !== undefined)
      throw new Error(describeFailure(options.name, seed, index, input, outcome.failure));
    if (outcome.decoded) decoded += 1;
    else refused += 1;
  }
  return { seed, decoded, refused };
}

function runOne(options: FuzzOptions, bytes: Uint8Array): { decoded: boolean; failure?: string } {
  let work: number | undefined;
  try {
    work = options.decode(bytes);
  } catch (error) {
    if (options.isTyped(error)) return { decoded: false };
    return { decoded: false, failure: `threw an untyped ${describeError(error)}` };
  }
  const budget = (options.workPerByte ?? 1) * bytes.length + (options.workSlack ?? 16);
  if (work !== undefined && work > budget) {
    return { decoded: true, failure: `reported ${work} units of work, more than its budget of ${budget}` };
  }
  return { decoded: true };
}

function describeFailure(name: string, seed: number, index: number, input: FuzzInput, failure: string): string {
  const dump = process.env.SNAKEBRIDGE_FUZZ_DUMP;
  if (dump !== undefined && dump !== '') writeFileSync(dump, input.bytes);
  const hex = Buffer.from(input.bytes.subarray(0, 512)).toString('hex');
  return [
    `${name} fuzz: input #${index} ${failure}.`,
    `Seed ${seed} (replay: SNAKEBRIDGE_FUZZ_SEED=${seed} SNAKEBRIDGE_FUZZ_COUNT=${index + 1}).`,
    `The input (${input.how}), ${input.bytes.length} bytes: ${hex}${input.bytes.length > 512 ? '…' : ''}`,
  ].join('\n');
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.constructor.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`;
}

/** Different suites given the same seed still get different inputs. */
function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function writeUint(out: Uint8Array, at: number, width: number, value: number, littleEndian: boolean): void {
  let rest = BigInt.asUintN(width * 8, BigInt(Math.max(0, Math.trunc(value))));
  for (let i = 0; i < width && at + i < out.length; i++) {
    const byte = Number(rest & 0xffn);
    rest >>= 8n;
    out[littleEndian ? at + i : at + width - 1 - i] = byte;
  }
}

/** `count` copies of `open`, then `leaf`, then `count` copies of `close`: a nesting bomb. */
export function nested(open: Uint8Array, leaf: Uint8Array, close: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * (open.length + close.length) + leaf.length);
  for (let i = 0; i < count; i++) out.set(open, i * open.length);
  out.set(leaf, count * open.length);
  for (let i = 0; i < count; i++) out.set(close, count * open.length + leaf.length + i * close.length);
  return out;
}

/** Kinds a decoder may build besides those of the type mapping, such as the Arrow serializer's tables. */
export type ExtraKind = (value: object) => boolean;

/**
 * Checks that a decoded value holds only what the type mapping promises
 * (docs/serialization.md), nested at most `maxDepth` containers deep, and
 * returns how many nodes it has. Throws a plain Error otherwise, which the
 * fuzz loop reports as a failure.
 */
export function checkDecoded(value: unknown, maxDepth: number, extra: ExtraKind = () => false): number {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [item, depth] = entry;
    nodes += 1;
    for (const child of childrenOf(item, extra)) {
      if (depth + 1 > maxDepth) throw new Error(`a decoded value is nested more than ${maxDepth} deep`);
      stack.push([child, depth + 1]);
    }
  }
  return nodes;
}

function childrenOf(item: unknown, extra: ExtraKind): Iterable<unknown> {
  switch (typeof item) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'bigint':
      return [];
    case 'object':
      break;
    default:
      throw new Error(`a decoded value holds a ${typeof item}`);
  }
  if (item === null || ArrayBuffer.isView(item) || isLeafObject(item) || extra(item)) return [];
  if (item instanceof Date) {
    if (Number.isNaN(item.getTime())) throw new Error('a decoded value holds an invalid Date');
    return [];
  }
  if (Array.isArray(item) || item instanceof Set) return item;
  if (item instanceof Map) return [...item.keys(), ...item.values()];
  const prototype = Object.getPrototypeOf(item);
  if (prototype === Object.prototype || prototype === null) return Object.values(item);
  throw new Error(`a decoded value holds a ${item.constructor.name}`);
}

/** Leaves of the mapping that are class instances: NDArray, HandleRef, CallbackRef (by name, to stay dependency-free). */
function isLeafObject(item: object): boolean {
  const name = item.constructor?.name;
  return name === 'NDArray' || name === 'HandleRef' || name === 'CallbackRef';
}

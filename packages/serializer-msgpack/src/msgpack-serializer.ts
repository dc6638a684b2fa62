// The msgpack serializer: msgpackr on this side, msgpack-python in the worker
// (python/snakebridge/serializers/msgpack.py). Faster than JSON, and typed
// arrays travel as their raw bytes. The README has the type mapping.

import {
  type DecodeContext,
  type EncodeContext,
  SerializationError,
  type Serializer,
  type SerializerRecipe,
  SerializerWireId,
  SnakeBridgeError,
  type ValueKind,
} from '@snakebridge/core';
import { FLOAT32_OPTIONS, Packr } from 'msgpackr';
import { claimSlots, type DecodeState, extensionSlots, finish } from './decode.js';
import { type EncodeState, prepare, Refusal, refusalPath } from './encode.js';
import { MsgpackExtType, RESERVED_EXT_TYPES } from './ext-types.js';
import type { MsgpackExtension } from './extension.js';
import { OutputSlab } from './output-slab.js';
import { ExtPayload, type ExtPayloadKind, OWN_EXT_PAYLOADS, scanMsgpack } from './scan.js';

export interface MsgpackSerializerOptions {
  /** Extension types for values the serializer does not carry itself. @default [] */
  readonly extensions?: readonly MsgpackExtension[] | undefined;
}

const SUPPORTS: readonly ValueKind[] = [
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
];

// Every option that changes the bytes is set, rather than left to msgpackr's
// defaults: the Python side must read exactly what is written, and defaults
// change between msgpackr versions.
const MSGPACKR_OPTIONS = {
  useRecords: false, // plain maps, never msgpackr's record extension
  moreTypes: false, // no msgpackr-only extensions for Set, Error, typed arrays
  structuredClone: false, // no reference extensions; cycles are refused before packing
  bundleStrings: false,
  useFloat32: FLOAT32_OPTIONS.NEVER, // every float is a float 64
  useTimestamp32: false, // dates are written by timestampRaw anyway
  useToJSON: false, // what a value's toJSON returns never replaces it
  variableMapSize: true, // fixmap/map16/map32 as msgpack-python writes them, and no 65535-key limit
  encodeUndefinedAsNil: true,
  largeBigIntToFloat: false, // bigints never reach msgpackr: prepare() writes them
  largeBigIntToString: false,
  useBigIntExtension: false,
  mapsAsObjects: false, // maps unpack as Map; finish() makes string-keyed ones plain objects
  int64AsType: 'bigint', // every int 64 unpacks as bigint; finish() makes safe ones numbers
  copyBuffers: false, // bin unpacks as a view into the input
  mapAsEmptyObject: false,
  setAsEmptyObject: false,
  allowArraysInMapKeys: false,
  coercibleKeyAsNumber: false,
  sequential: false,
} as const;

/** Values ↔ msgpack, with SnakeBridge's extension types for what msgpack lacks. */
export class MsgpackSerializer implements Serializer {
  readonly id = 'msgpack';
  readonly wireId = SerializerWireId.msgpack;
  readonly contentType = 'application/msgpack';
  readonly supports: ReadonlySet<ValueKind>;
  /** How to rebuild it in a worker thread (offload); none when extensions (functions) are plugged in. */
  readonly recipe: SerializerRecipe | undefined;
  /** Arrays past the lane's threshold travel as sharedNdarray references (docs/protocol.md, "Shared memory"). */
  readonly namesSegments = true;
  readonly #packr = new Packr(MSGPACKR_OPTIONS);
  readonly #slab = new OutputSlab();
  readonly #extensions: readonly MsgpackExtension[];
  readonly #extensionsByType: ReadonlyMap<number, MsgpackExtension>;
  readonly #slots: ReturnType<typeof extensionSlots>;
  /** The extension types decode accepts, and how the scan reads their payloads. */
  readonly #scanned: ReadonlyMap<number, ExtPayloadKind>;

  constructor(options: MsgpackSerializerOptions = {}) {
    this.#extensions = checkExtensions(options.extensions ?? []);
    this.#extensionsByType = new Map(this.#extensions.map((extension) => [extension.type, extension]));
    this.#slots = extensionSlots([...OWN_TYPES, ...this.#extensionsByType.keys()]);
    this.#scanned = new Map([
      ...OWN_EXT_PAYLOADS,
      ...[...this.#extensionsByType.keys()].map((type) => [type, ExtPayload.opaque] as const),
    ]);
    const kinds = this.#extensions.flatMap((extension) => (extension.kind === undefined ? [] : [extension.kind]));
    this.supports = new Set([...SUPPORTS, ...kinds]);
    this.recipe =
      this.#extensions.length === 0
        ? { module: import.meta.url, factory: 'createMsgpackSerializer', binaryPassesThrough: true }
        : undefined;
  }

  encode(value: unknown, context?: EncodeContext): Uint8Array {
    const state: EncodeState = {
      context,
      extensions: this.#extensions,
      packPayload: (prepared, expectedBytes) => this.#slab.pack(this.#packr, prepared, expectedBytes),
      ancestors: new Set(),
      depth: 0,
      size: 0,
    };
    try {
      const prepared = prepare(value, state);
      return this.#slab.pack(this.#packr, prepared, state.size);
    } catch (error) {
      throw encodeError(error);
    }
  }

  /**
   * Decodes one msgpack value. The structure is checked first (scan.ts):
   * malformed bytes, unknown extension types and nesting beyond
   * MAX_NESTING_DEPTH are refused with a SerializationError before msgpackr
   * reads anything, so its work and allocations stay within the input's size.
   * A HandleError from `context.handle` keeps its code.
   */
  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    const state: DecodeState = {
      context,
      extensions: this.#extensionsByType,
      unpack: (payload) => this.#unpack(payload),
    };
    if (bytes.byteLength === 0) throw new SerializationError('msgpack', 'there are no bytes to decode');
    scanMsgpack(bytes, this.#scanned);
    const unpacked = this.#unpack(bytes);
    try {
      return finish(unpacked, state);
    } catch (error) {
      throw decodeError(error);
    }
  }

  #unpack(bytes: Uint8Array): unknown {
    if (bytes.byteLength === 0) throw new SerializationError('msgpack', 'there are no bytes to decode');
    claimSlots(this.#slots);
    try {
      return this.#packr.unpack(bytes);
    } catch (error) {
      throw new SerializationError('msgpack', `not valid msgpack: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
  }
}

const OWN_TYPES = [
  MsgpackExtType.bigint,
  MsgpackExtType.set,
  MsgpackExtType.map,
  MsgpackExtType.ndarray,
  MsgpackExtType.handle,
  MsgpackExtType.callback,
  MsgpackExtType.sharedNdarray,
];

function checkExtensions(extensions: readonly MsgpackExtension[]): readonly MsgpackExtension[] {
  const seen = new Set<number>();
  for (const { type } of extensions) {
    if (!Number.isInteger(type) || type < 0 || type > 127) {
      throw new RangeError(`[msgpack] extension type ${type} is not an application type (0–127)`);
    }
    if (RESERVED_EXT_TYPES.has(type)) {
      throw new RangeError(`[msgpack] extension type ${type} is reserved (SnakeBridge or msgpackr uses it)`);
    }
    if (seen.has(type)) throw new RangeError(`[msgpack] extension type ${type} is registered twice`);
    seen.add(type);
  }
  return [...extensions];
}

function encodeError(error: unknown): SnakeBridgeError {
  if (SnakeBridgeError.is(error)) return error;
  if (error instanceof Refusal) {
    return new SerializationError('msgpack', error.message, refusalPath(error), { cause: error.cause });
  }
  return new SerializationError('msgpack', `the value could not be encoded: ${(error as Error).message}`, undefined, {
    cause: error,
  });
}

function decodeError(error: unknown): SnakeBridgeError {
  if (SnakeBridgeError.is(error)) return error; // a HandleError from context.handle keeps its code
  return new SerializationError('msgpack', `the value could not be decoded: ${(error as Error).message}`, undefined, {
    cause: error,
  });
}

/** The msgpack serializer, with any extension types given. */
export function createMsgpackSerializer(options: MsgpackSerializerOptions = {}): MsgpackSerializer {
  return new MsgpackSerializer(options);
}

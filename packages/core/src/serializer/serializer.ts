// The Serializer port: how values become bytes on the wire, and back.

import type { HostFunction } from '../callbacks/callback-ref.js';
import type { HandleRef, HandleWire } from '../handles/handle-ref.js';

/**
 * The kinds of JavaScript value a serializer may carry. A serializer lists
 * those it carries by value in {@link Serializer.supports}; the contract suite
 * checks that each listed kind round-trips and that the others are refused
 * with a SerializationError rather than silently changed.
 */
export type ValueKind =
  | 'null'
  | 'boolean'
  | 'number'
  /** NaN, Infinity and -Infinity. */
  | 'nonFiniteNumber'
  /** -0 kept distinct from 0. */
  | 'negativeZero'
  | 'bigint'
  | 'string'
  /** Uint8Array ↔ bytes. */
  | 'bytes'
  | 'array'
  /** Plain objects with string keys ↔ dict. */
  | 'object'
  /** Map (any keys) ↔ dict. */
  | 'map'
  | 'set'
  | 'date'
  /** Float64Array, Int32Array, … ↔ numpy arrays. */
  | 'typedArray'
  /** References to Python objects (see HandleRef). */
  | 'handle'
  /** apache-arrow Tables and RecordBatches. */
  | 'arrowTable';

/** What an encoder may be told about the value it encodes. */
export interface EncodeContext {
  /** The dotted name being called, for serializers with per-callable schemas. */
  readonly target?: string | undefined;
  /** What the value is: call arguments or a result, for per-callable schemas. */
  readonly role?: 'args' | 'result' | 'item' | undefined;
  /** Called for each handle written, so the invoker can route the call to the worker holding it. */
  readonly onHandle?: ((ref: HandleRef) => void) | undefined;
  /**
   * Called for each function in call arguments; returns the index to write as
   * its callback reference. An invoker that can run callbacks supplies it;
   * without it, serializers refuse functions with a SerializationError.
   */
  readonly onFunction?: ((fn: HostFunction) => number) | undefined;
  /**
   * Where large binary values may go instead of the message: a transport's
   * shared-memory lane (docs/protocol.md, "Shared memory"). Serializers that
   * cannot name a segment in their format ignore it.
   */
  readonly sharedMemory?: SharedMemoryWriter | undefined;
}

/** Takes large binary values out of a message, into shared memory the receiver maps or reads. */
export interface SharedMemoryWriter {
  /** Values of at least this many bytes go there; smaller ones stay in the message. */
  readonly thresholdBytes: number;
  /**
   * Copies `bytes` into a new segment; returns its index among this message's
   * segments, which the value names. Undefined if the lane cannot take it
   * now (full): the value is written into the message as usual.
   */
  put(bytes: Uint8Array): number | undefined;
}

/** What a decoder may be told about the value it decodes. */
export interface DecodeContext {
  readonly target?: string | undefined;
  readonly role?: 'args' | 'result' | 'item' | undefined;
  /**
   * Builds the value that stands for a handle found in the bytes. The invoker
   * supplies this so the handle knows its worker; the Bridge so that it
   * becomes a proxy. Without it, a plain HandleRef is returned.
   */
  readonly handle?: ((wire: HandleWire) => unknown) | undefined;
  /**
   * The bytes of the shared-memory segments that came with the message, by
   * the index the value names them with; memory of the receiver's own. A
   * value naming a segment that is not here is malformed.
   */
  readonly segments?: readonly Uint8Array[] | undefined;
}

/**
 * How to build the same serializer in another thread: a module to import and
 * a factory it exports, called with `options`. Invokers use it to encode and
 * decode large payloads in worker threads, off the event loop.
 */
export interface SerializerRecipe {
  /** An absolute module URL (usually the serializer's own `import.meta.url`) or a package name. */
  readonly module: string;
  /** The name of the exported factory. */
  readonly factory: string;
  /** What the factory is called with; must survive structured cloning. */
  readonly options?: unknown;
  /**
   * Binary values (typed arrays, bytes) are copied as they are rather than
   * transformed (msgpack, Arrow, protobuf; not JSON's base64). The offloader
   * then keeps everything on the main thread: measured, a thread only added a
   * copy for binary and a rebuild by structured cloning for records.
   */
  readonly binaryPassesThrough?: boolean | undefined;
}

/**
 * Encodes values to bytes and back. The same serializer (same `id`) runs in
 * the Python worker; host and worker agree on it at the handshake.
 *
 * Contract:
 * - `decode(encode(v))` equals `v` for every kind in `supports`.
 * - A value of a kind not in `supports` makes `encode` throw a
 *   SerializationError naming where in the value it is; it is never silently
 *   dropped or stringified. Handles are always supported.
 * - Bytes that are not a valid encoding make `decode` throw a SerializationError.
 * - `undefined` is encoded as null (None), as JSON does inside arrays.
 * - `encode` and `decode` are synchronous and keep no state between calls,
 *   so one instance can serve many connections.
 */
export interface Serializer {
  /** Stable name, also used by the Python side: `json`, `msgpack`, `arrow`, `protobuf`. */
  readonly id: string;
  /** The byte that names this serializer in a frame header (see docs/protocol.md). */
  readonly wireId: number;
  /** MIME type of the encoded bytes. */
  readonly contentType: string;
  /** The kinds of value carried by value. */
  readonly supports: ReadonlySet<ValueKind>;
  /** Options the Python side of this serializer needs, sent in the handshake. */
  readonly pythonOptions?: Readonly<Record<string, unknown>> | undefined;
  /** How to rebuild this serializer in a worker thread; without it, everything stays on the main thread. */
  readonly recipe?: SerializerRecipe | undefined;
  /**
   * It writes large typed arrays as references to shared-memory segments when
   * the encode context offers a lane (`EncodeContext.sharedMemory`), and reads
   * them back from `DecodeContext.segments`; its Python side does the same.
   */
  readonly namesSegments?: boolean | undefined;
  encode(value: unknown, context?: EncodeContext): Uint8Array;
  decode(bytes: Uint8Array, context?: DecodeContext): unknown;
}

/**
 * How many containers (arrays, objects, Maps, Sets) deep a value may be
 * nested, on both sides and in every serializer: encoders refuse a deeper
 * value, decoders refuse bytes that would build one, each with a
 * SerializationError, never a stack overflow. `[[1]]` is 2 deep.
 *
 * 256 rather than more because the Python side must decode whatever is
 * accepted here without raising its recursion limit: Python's json module
 * counts every level against that limit (1,000 by default, shared with the
 * caller's own frames), msgpack-python's packer stops at 511 levels, and a
 * JSON Map takes three JSON levels per level of the value. 256 leaves that
 * headroom, and is still twice the default limit of serde_json.
 * python/snakebridge/serializers/base.py has the same number.
 */
export const MAX_NESTING_DEPTH = 256;

/** The message of every refusal of a value nested deeper than {@link MAX_NESTING_DEPTH}. */
export const NESTING_REFUSAL = `the value is nested more than ${MAX_NESTING_DEPTH} levels deep`;

/** Wire ids of the first-party serializers; 0 marks a control body that no serializer made. */
export const SerializerWireId = {
  control: 0,
  json: 1,
  msgpack: 2,
  arrow: 3,
  protobuf: 4,
} as const;

/** Container token of the Serializer chosen by the config. */
export const SERIALIZER = Symbol.for('@snakebridge/core/Serializer');

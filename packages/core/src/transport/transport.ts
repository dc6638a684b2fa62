// The Transport port: what differs between the ways of reaching Python (pipes
// to a worker process, gRPC to a server) and nothing more. Everything else a
// call needs (encoding, routing, deadlines, streams, callbacks, handles,
// counts) is done once, by the TransportInvoker, over any transport.

import type { CallOp } from '../invoker/invoker.js';
import type { PoolWorker, ProcessPool } from '../process-pool/process-pool.js';
import type { TraceContext } from '../telemetry/trace-context.js';

/** One call as a channel sends it: encoded and routed by the invoker, sent as is (again, if it is retried). */
export interface OutboundCall {
  readonly op: CallOp;
  /** A dotted name, a method or attribute name on `handle`, or code for eval/exec. */
  readonly target: string;
  /** The id of the handle the call is on, 0 for none. */
  readonly handle: number;
  /** The session the call runs in, as the host names it; undefined for none. */
  readonly session: string | undefined;
  /** `[args, kwargs]`, encoded by the bridge's serializer. */
  readonly payload: Uint8Array;
  /**
   * What is left of the call's deadline, in ms; 0 for none. The invoker
   * answers the caller at the deadline; the channel tells Python too, so
   * that the work stops there as well.
   */
  readonly timeoutMs: number;
  /** 0 for a call; for a stream, how many items Python may produce ahead of the consumer. */
  readonly window: number;
  /** The arguments hold host functions: Python may send `callback` events while the call runs. */
  readonly callbacks: boolean;
  /** Its handles or session live on this channel: one that restarted since must refuse it, not guess. */
  readonly pinned: boolean;
  /**
   * Pipelining (docs/protocol.md): the promised handle id its outcome is to
   * be kept under, 0 for none. Over stdio the CALL frame's aux.
   */
  readonly promise: number;
  /**
   * It makes a promised handle or names some (as `handle`, or in its
   * arguments): the channel marks it so (stdio's PIPELINED flag, gRPC's
   * pipeline scope), and Python holds it back until what it names exists.
   */
  readonly pipelined: boolean;
  /** The call as error messages name it. */
  readonly description: string;
  /**
   * The W3C trace context of the call's span, when an OpenTelemetry SDK traces
   * it: the channel sends it with the call (docs/protocol.md), and Python's
   * span of the call becomes its child. Undefined otherwise, and then nothing
   * is sent for it.
   */
  readonly trace?: TraceContext | undefined;
  /** Segments of the shared-memory lane the payload names (by index), open until the call settles. */
  readonly segments?: readonly SharedSegment[] | undefined;
}

/** A shared-memory segment the host made for a call's payload; the call's channel tells the worker how to reach it. */
export interface SharedSegment {
  /** What names it to the worker (on the stdio transport, a file descriptor of the host process). */
  readonly ref: number;
  readonly byteLength: number;
  /** Frees it; the worker's mapping, if any, stays valid. Idempotent. */
  close(): void;
}

/**
 * A transport's lane for large binary values: instead of travelling through
 * the pipe, they are copied once into a segment that the worker maps
 * (docs/protocol.md, "Shared memory"). Results come back the same way.
 */
export interface SharedMemory {
  /** Values of at least this many bytes take the lane. */
  readonly thresholdBytes: number;
  /** A new segment holding a copy of `bytes`, or undefined if the lane cannot take it now (the value stays in the message). */
  create(bytes: Uint8Array): SharedSegment | undefined;
}

/** Python asks the host to run a function from the call's arguments. */
export interface CallbackRequest {
  /** Unique among the callbacks of the channel in flight; the answer names it. */
  readonly id: number;
  /** `[index, args]`, encoded by the serializer: the 1-based index of the function, and its arguments. */
  readonly payload: Uint8Array;
}

/** How the host answers a callback: the function's encoded return value, or what it threw. */
export type CallbackAnswer =
  | { readonly result: Uint8Array }
  /** UTF-8 JSON `{ name, message, stack }`: Python raises HostCallbackError with it. */
  | { readonly error: Uint8Array };

/**
 * What a channel reports about one call it sent, in the order it learns it.
 * Exactly one final event (`result`, `end` or `fail`) ends the call; nothing
 * follows it.
 */
export interface CallEvents {
  /** A call's encoded result (final), and the bytes of the shared-memory segments it names, if any. */
  result(body: Uint8Array, segments?: readonly Uint8Array[]): void;
  /** A stream's next encoded item, and the segments it names. */
  item(body: Uint8Array, segments?: readonly Uint8Array[]): void;
  /** A stream's generator is exhausted (final). */
  end(): void;
  /**
   * The call failed (final): a PythonError for a Python exception, or a
   * SnakeBridgeError saying what happened to the channel (WorkerCrashedError,
   * ProtocolError, UnavailableError when it never reached Python).
   */
  fail(error: Error): void;
  /** Python called a host function; answer with `CallControl.answerCallback`. */
  callback(request: CallbackRequest): void;
}

/** The invoker's hold on a call in flight on a channel. */
export interface CallControl {
  /** A stream's consumer took `count` more items: Python may produce that many more. */
  credit(count: number): void;
  /**
   * Stops the call in Python (deadline, abort, a stream's consumer left).
   * Idempotent. The channel sees to it that the work stops, replacing its
   * worker if it will not; its final event may still come, and is ignored.
   */
  cancel(): void;
  /** Answers a `callback` event. Answers to requests the channel no longer knows are dropped. */
  answerCallback(id: number, answer: CallbackAnswer): void;
}

/**
 * One Python worker or server that calls are sent to: a pipe to a process
 * (stdio), a gRPC channel to a server (managed or remote).
 *
 * Guarantees a channel must give:
 * - Every call sent gets exactly one final event, including when the process
 *   dies (WorkerCrashedError, at once, not at the deadline), breaks the
 *   protocol (ProtocolError), or the channel closes.
 * - A call refused before it reached Python fails with UnavailableError
 *   naming the channel, which the pool takes as leave to send it elsewhere.
 * - Events for one call arrive in the order Python produced them; a stream
 *   never runs more items ahead than its window plus the credit granted.
 * - Bytes from the other side are untrusted: a malformed message fails the
 *   calls it concerns with a typed error and never throws into the host.
 */
export interface Channel extends PoolWorker {
  /**
   * Who holds the handles and sessions made here, as HandleRef.owner and
   * SessionRef.owner record it: the worker id, or `endpoint#instance` for a
   * remote server (a restarted server is another owner).
   */
  readonly owner: string;
  /** False once it can take no new call (it is stopping, broke, or waits for a cancelled call to stop). */
  readonly accepting: boolean;
  /** Sends a call. Events may start before it returns (a call refused at once fails synchronously). */
  send(call: OutboundCall, events: CallEvents): CallControl;
  /**
   * Frees handles and, with a session, everything the session holds. Fire and
   * forget; not ordered with calls sent after it on every transport (over
   * gRPC it is an RPC of its own).
   */
  release(handles: readonly number[], session?: string | undefined): void;
}

/** Where channels come from: a ProcessPool of workers or local servers, or a balancer over remote servers. */
export type Channels<C extends Channel> = Pick<
  ProcessPool<C>,
  'start' | 'acquire' | 'run' | 'worker' | 'pinSession' | 'unpinSession' | 'close'
>;

/**
 * A way of reaching Python: its channels, and how they are supervised. The
 * stdio and gRPC adapters each provide one; the TransportInvoker calls
 * Python over any of them, and each passes `describeTransportContract`.
 */
export interface Transport<C extends Channel = Channel> {
  /** Its name, as the config says it: `stdio`, `grpc`. */
  readonly kind: string;
  /** The channels calls are sent to. */
  readonly channels: Channels<C>;
  /** Its shared-memory lane for large binary values, where it has one and the config turns it on. */
  readonly sharedMemory?: SharedMemory | undefined;
}

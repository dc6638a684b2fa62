// The Invoker port: how a call reaches Python and its result comes back.

import type { HandleRef, HandleWire } from '../handles/handle-ref.js';
import type { PromisedHandle } from '../handles/promised-handle.js';

/** What to do in Python. */
export type CallOp =
  /** Call `target` (a dotted name, or a method name on `handle`) with args and kwargs. */
  | 'call'
  /** Read attribute `target` (of a module, or of `handle`). */
  | 'getattr'
  /** Set attribute `target` of `handle` (or of a module) to `args[0]`. */
  | 'setattr'
  /** Evaluate the expression `target`, with `kwargs` as local variables. */
  | 'eval'
  /** Execute the statements `target`, with `kwargs` as global variables; returns null. */
  | 'exec'
  /** Iterate the object `handle` itself (only with `stream`). */
  | 'iter';

/** One call into Python. */
export interface Call {
  readonly op: CallOp;
  /** A dotted name (`numpy.linalg.norm`), an attribute or method name when `handle` is set, or code for eval/exec. */
  readonly target: string;
  /** The object the call is on; calls on a handle go to the worker that holds it. */
  readonly handle?: HandleRef | undefined;
  readonly args?: readonly unknown[] | undefined;
  readonly kwargs?: Readonly<Record<string, unknown>> | undefined;
  /**
   * Pipelining: the name this call's result goes by before it exists (from
   * `Invoker.promiseHandle()`, with op `call`, not streamed). Calls that use
   * it (as `handle`, or in their arguments) are sent at once, and run in
   * Python after this one, with its result.
   */
  readonly promise?: PromisedHandle | undefined;
  /**
   * The arguments as `Invoker.encodeArguments` of this invoker encoded them
   * when the call was made: sent instead of `args` and `kwargs`, which are
   * then left out.
   */
  readonly encoded?: EncodedArguments | undefined;
}

declare const ENCODED: unique symbol;

/**
 * A call's arguments, encoded by an invoker (`encodeArguments`) to be sent
 * later as they were then. Opaque: only the invoker that made it reads it.
 */
export interface EncodedArguments {
  readonly [ENCODED]: true;
  /** The call will not be sent after all: frees what the encoding holds (shared-memory segments). Idempotent. */
  discard(): void;
}

/** Options of one call. Unset fields take their value from the config. */
export interface CallOptions {
  /**
   * Deadline in milliseconds. When it passes, the call rejects with a
   * TimeoutError at once and is cancelled in Python. 0 means no deadline.
   */
  readonly timeoutMs?: number | undefined;
  /** Aborting rejects the call with a CancelledError at once and cancels it in Python. */
  readonly signal?: AbortSignal | undefined;
  /** Runs the call on the worker the session is pinned to. */
  readonly session?: SessionRef | undefined;
  /**
   * The call may safely run twice. If its worker dies or is recycled under it,
   * it is retried on another worker instead of failing. Never retried for a
   * Python exception.
   */
  readonly idempotent?: boolean | undefined;
  /**
   * Builds the value that stands for each handle in the result, e.g. a proxy.
   * Receives a HandleRef that already knows its worker. Default: the HandleRef.
   */
  readonly reviveHandle?: ((ref: HandleRef) => unknown) | undefined;
}

/** Options of a streamed call. */
export interface StreamOptions extends CallOptions {
  /**
   * How many items the worker may produce ahead of the consumer (credit).
   * The generator is paused in Python while the window is full.
   */
  readonly window?: number | undefined;
}

/** A set of calls pinned to one worker, so Python state made by one call is there for the next. */
export interface SessionRef {
  readonly id: string;
  /** The worker the session is pinned to. */
  readonly owner: string;
}

/** Counters every invoker reports. */
export interface InvokerStats {
  readonly inFlight: number;
  readonly callsStarted: number;
  readonly callsSucceeded: number;
  readonly callsFailed: number;
  readonly liveHandles: number;
}

/**
 * Calls Python. The stdio, gRPC and mock adapters implement this port; each
 * one passes the contract suite exported by `@snakebridge/core/testing`.
 *
 * Contract:
 * - Every call settles exactly once: with its result, or with a
 *   SnakeBridgeError (PythonError for a Python exception). No call is left
 *   pending when a worker dies, a frame is bad or the invoker closes.
 * - Timeout and abort reject at once (never later than the deadline), then
 *   cancel the work in Python: an async function is cancelled; a sync one that
 *   does not stop within a grace period has its worker replaced.
 * - A worker dying fails the calls in flight on it with WorkerCrashedError at
 *   once, not after their timeouts.
 * - Calls on a handle or in a session run on the worker that holds it; if that
 *   worker is gone they fail with HandleError / SessionError.
 * - After `close()`, calls reject with ClosedError.
 */
export interface Invoker {
  /** Name of the adapter: `stdio`, `grpc`, `mock`. */
  readonly kind: string;
  /** Starts workers or connections ahead of the first call. Idempotent. */
  start(): Promise<void>;
  /** Makes one call and resolves with its (decoded) result. */
  call<T = unknown>(call: Call, options?: CallOptions): Promise<T>;
  /**
   * Calls a generator (or iterates a handle with op `iter`) and yields its
   * items as they are produced, with back-pressure. Ending the iteration early
   * (`break`, `return()`) closes the generator in Python. A Python exception
   * part-way arrives after the items produced before it.
   */
  stream<T = unknown>(call: Call, options?: StreamOptions): AsyncIterableIterator<T>;
  /**
   * Frees the Python objects behind these handles. Unknown or dead handles are
   * ignored. A PromisedHandle is freed once its call and the calls naming it
   * (those made before this, and any made meanwhile) have settled.
   */
  release(handles: readonly HandleRef[]): Promise<void>;
  /**
   * Pipelining, where the invoker can: a name for the result of a call not
   * made yet, `describe` naming that call in errors (asked only then). Pass it as the call's
   * `promise`; calls that use it then go out at once, to the same worker, and
   * fail with a PipelineError (its cause the call's error) if that call
   * fails. Invokers without it are sent each result first (the bridge waits).
   */
  promiseHandle?(describe: () => string): PromisedHandle;
  /**
   * Encodes a call's arguments now, for a call made later with them as its
   * `encoded`: Python gets them as they were at this moment, whatever the
   * caller changes meanwhile. The bridge sends calls at the end of the turn
   * they were made in; this is how it keeps what they were given. Throws what
   * `call` would reject with for arguments that cannot be sent. Invokers
   * without it are given copies of the arguments instead.
   */
  encodeArguments?(call: Call): EncodedArguments;
  /** Pins a new session to one worker. */
  openSession(): Promise<SessionRef>;
  /** Ends a session and frees the handles created in it. */
  closeSession(session: SessionRef): Promise<void>;
  /** Counters for monitoring. */
  stats(): InvokerStats;
  /**
   * Stops taking calls, lets those in flight finish (up to the shutdown grace
   * period), then stops every worker. Idempotent.
   */
  close(): Promise<void>;
}

/** Re-exported for adapters that build handle refs from the wire. */
export type { HandleWire };

/** Container token of the Invoker chosen by the config. */
export const INVOKER = Symbol.for('@snakebridge/core/Invoker');

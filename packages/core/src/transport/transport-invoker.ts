// The one Invoker over any Transport: encodes each call once, routes it (to
// the channel that holds its handles or session, else the least-loaded one),
// answers the caller at its deadline or abort and cancels the work in Python,
// streams with credit, runs host callbacks, revives handles and counts calls.
// The stdio and gRPC adapters differ only in the transport they give it.

import { randomUUID } from 'node:crypto';
import { callbackIndex, type HostFunction } from '../callbacks/callback-ref.js';
import type { ResolvedConfig } from '../config/types.js';
import {
  CancelledError,
  ClosedError,
  HandleError,
  PoolExhaustedError,
  SessionError,
  TimeoutError,
} from '../errors/errors.js';
import { atCallSite } from '../errors/python-error.js';
import { HandleRef } from '../handles/handle-ref.js';
import { isPromised, PromisedHandle } from '../handles/promised-handle.js';
import { CallCounts, handleIdsByOwner } from '../invoker/call-counts.js';
import { withDeadline } from '../invoker/deadline.js';
import { describeCall, sessionOfHandle } from '../invoker/describe-call.js';
import type {
  Call,
  CallOptions,
  EncodedArguments,
  Invoker,
  InvokerStats,
  SessionRef,
  StreamOptions,
} from '../invoker/invoker.js';
import type { AcquireOptions, Lease, RunOptions } from '../process-pool/process-pool.js';
import type { DecodeContext, EncodeContext, Serializer, SharedMemoryWriter } from '../serializer/serializer.js';
import { type CallRecord, CallTelemetry } from '../telemetry/telemetry.js';
import { HostCallbacks } from './host-callbacks.js';
import { StreamReceiver } from './stream-receiver.js';
import type {
  CallbackRequest,
  CallControl,
  CallEvents,
  Channel,
  Channels,
  OutboundCall,
  SharedMemory,
  SharedSegment,
  Transport,
} from './transport.js';

/**
 * How call payloads are encoded and results decoded: the serializer itself,
 * or something that runs it off the event loop for large values (the
 * offloader). A promise only when the work went elsewhere.
 */
export interface PayloadCodec {
  encode(value: unknown, context: EncodeContext): Uint8Array | Promise<Uint8Array>;
  decode(body: Uint8Array, context: DecodeContext): unknown;
  close?(): Promise<void>;
}

/** What a TransportInvoker is built from. */
export interface TransportInvokerOptions<C extends Channel> {
  readonly transport: Transport<C>;
  /** The resolved config: timeouts, pool.acquireTimeoutMs and streams.window apply here. */
  readonly config: ResolvedConfig;
  /** Encodes stream items and callback values; the worker or server speaks the same. */
  readonly serializer: Serializer;
  /** Encodes payloads and decodes results. @default the serializer */
  readonly codec?: PayloadCodec | undefined;
}

/** One call, encoded and routed, ready to send (again, if it is retried). */
interface Prepared {
  readonly outbound: OutboundCall;
  /** The channel that must run it (its handles or session live there), if any. */
  readonly owner: string | undefined;
  readonly sessionKey: string | undefined;
  readonly callbacks: readonly HostFunction[];
  readonly reviveHandle: CallOptions['reviveHandle'];
  /** Pipelining: the promised handle it makes, and those it names; undefined for a call with neither. */
  readonly pipeline?: Pipelined | undefined;
}

/** The promised handles a call makes and names (pipelining): told when it settles. */
interface Pipelined {
  readonly makes: PromisedHandle | undefined;
  readonly names: readonly PromisedHandle[];
  /** Its place in the order pipelined calls go out in; it ends when the call is handed to its channels. */
  readonly turn: Turn;
}

/**
 * A pipelined call's place in line: pipelined calls are routed one after
 * another, in the order they were made, each once the one before was handed
 * to its channels, so that they reach Python in that order (the pool and the
 * channels keep the order of the calls handed to them).
 */
class Turn {
  /** Resolves when the turn before this one ended. */
  readonly before: Promise<void> | undefined;
  /** Resolves when this one ends. */
  readonly ended: Promise<void>;
  #end: () => void = () => {};

  constructor(before: Promise<void> | undefined) {
    this.before = before;
    this.ended = new Promise((resolve) => {
      this.#end = resolve;
    });
  }

  /** The call was handed to its channels, or failed before: the next may go. Idempotent. */
  end(): void {
    this.#end();
  }
}

/** What a call's channel answered: the encoded result, and who made the handles in it. */
interface Answered {
  readonly body: Uint8Array;
  readonly owner: string;
  /** The shared-memory segments the body names, read into host memory by the channel. */
  readonly segments: readonly Uint8Array[] | undefined;
}

/** Calls Python over a transport; the stdio and gRPC invokers are this, each with its own transport. */
export class TransportInvoker<C extends Channel = Channel> implements Invoker {
  readonly kind: string;
  readonly #channels: Channels<C>;
  readonly #config: ResolvedConfig;
  readonly #serializer: Serializer;
  readonly #codec: PayloadCodec;
  readonly #sharedMemory: SharedMemory | undefined;
  readonly #sessions = new Map<string, SessionRef>();
  /** Handles the caller holds, by the session they were made in: closing it frees them all in Python. */
  readonly #sessionHandles = new Map<string, number>();
  readonly #counts = new CallCounts();
  readonly #telemetry: CallTelemetry;
  /** The last promised handle's serial (pipelining). */
  #promiseSerial = 0;
  /** When the last pipelined call's turn ends (pipelining: Turn). */
  #lastTurn: Promise<void> | undefined;
  #closed = false;

  constructor(options: TransportInvokerOptions<C>) {
    this.kind = options.transport.kind;
    this.#telemetry = new CallTelemetry({ invoker: this.kind, serializer: options.serializer.id });
    this.#channels = options.transport.channels;
    this.#config = options.config;
    this.#serializer = options.serializer;
    this.#codec = options.codec ?? options.serializer;
    this.#sharedMemory = options.transport.sharedMemory;
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#channels.start();
  }

  async call<T = unknown>(call: Call, options: CallOptions = {}): Promise<T> {
    if (this.#closed) {
      call.encoded?.discard();
      throw this.#closedError();
    }
    const pending = call.promise === undefined ? this.#prepare(call, options, 0) : this.#placePromised(call, options);
    // Awaited only when the arguments were large enough to be encoded in a worker thread.
    const prepared = pending instanceof Promise ? await pending : pending;
    this.#counts.started();
    const record = this.#telemetry.start(
      call.target,
      'call',
      prepared.outbound.payload.byteLength,
      prepared.sessionKey,
    );
    try {
      const { body, owner, segments } = await this.#run(traced(prepared, record), options, record);
      record.received(body.byteLength);
      // Awaited only when it was decoded in a worker thread: an await costs a turn of the microtask queue.
      const decoded = this.#codec.decode(body, this.#decodeContext(prepared, owner, 'result', segments));
      const result = (decoded instanceof Promise ? await decoded : decoded) as T;
      this.#counts.succeeded();
      record.end();
      return result;
    } catch (error) {
      this.#counts.failed();
      record.end(error);
      // Created here, after an await, this Error's stack reaches the user's awaiting code.
      throw atCallSite(error as Error, new Error());
    } finally {
      this.#counts.finished();
      settled(prepared);
    }
  }

  stream<T = unknown>(call: Call, options: StreamOptions = {}): AsyncIterableIterator<T> {
    return this.#stream<T>(call, options);
  }

  encodeArguments(call: Call): EncodedArguments {
    const encoded = this.#encode(call);
    // Awaited when the call is sent, which may never be (the call fails before): not an unhandled rejection.
    if (encoded.payload instanceof Promise) encoded.payload.catch(() => {});
    return encoded as unknown as EncodedArguments;
  }

  promiseHandle(describe: () => string): PromisedHandle {
    this.#promiseSerial = this.#promiseSerial >= 0x7fff_ffff ? 1 : this.#promiseSerial + 1;
    return new PromisedHandle(this.#promiseSerial, describe);
  }

  async release(handles: readonly HandleRef[]): Promise<void> {
    if (handles.some(isPromised)) {
      this.#releasePromised(handles.filter(isPromised));
      handles = handles.filter((handle) => !isPromised(handle));
    }
    // A call on a released handle then fails here, at once, whatever the transport (a gRPC Release is an RPC
    // of its own, which a later call could overtake).
    for (const handle of handles) handle.markReleased();
    // Handles of a closed session were freed, and uncounted, when it closed.
    const live = handles.filter((handle) => handle.session === undefined || this.#sessions.has(handle.session));
    for (const handle of live) this.#sessionHandleGone(handle.session);
    for (const [owner, ids] of handleIdsByOwner(live)) {
      this.#counts.handlesReleased(ids.length);
      this.#channels.worker(owner)?.release(ids);
    }
  }

  async openSession(): Promise<SessionRef> {
    if (this.#closed) throw this.#closedError();
    const channel = await this.#channels.pinSession();
    // Unique across hosts: many hosts may share one remote server.
    const ref: SessionRef = { id: randomUUID(), owner: channel.owner };
    this.#sessions.set(ref.id, ref);
    return ref;
  }

  async closeSession(session: SessionRef): Promise<void> {
    if (!this.#sessions.delete(session.id)) return;
    // Python frees everything the session holds: the caller's handles into it are gone too.
    this.#counts.handlesReleased(this.#sessionHandles.get(session.id) ?? 0);
    this.#sessionHandles.delete(session.id);
    this.#channels.unpinSession(session.owner);
    this.#channels.worker(session.owner)?.release([], session.id);
  }

  stats(): InvokerStats {
    return this.#counts.stats();
  }

  /**
   * Frees promised handles in their workers once their calls and the calls
   * naming them have settled (a release sent sooner could overtake them: over
   * gRPC it is an RPC of its own). A call naming one once it is freed fails
   * here, at once; the bridge stops naming one it releases.
   */
  #releasePromised(promised: readonly PromisedHandle[]): void {
    const now = promised.filter((handle) => handle.releaseWhenDone(() => this.#freePromised([handle])));
    if (now.length > 0) this.#freePromised(now);
  }

  /** Frees promised handles in their workers: one release per worker. */
  #freePromised(promised: readonly PromisedHandle[]): void {
    for (const handle of promised) handle.markReleased();
    // Never placed: Python never heard of it. A closed session freed it with everything else.
    const live = promised.filter((handle) => handle.session === undefined || this.#sessions.has(handle.session));
    for (const [owner, ids] of handleIdsByOwner(live)) this.#channels.worker(owner)?.release(ids);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#channels.close();
    await this.#codec.close?.();
  }

  // --- calls -------------------------------------------------------------------------------

  /** Runs a call on a channel; the deadline covers waiting for one too. */
  async #run(prepared: Prepared, options: CallOptions, record: CallRecord): Promise<Answered> {
    const { timeoutMs, description } = prepared.outbound;
    // The common call has neither: no timer, no signal, nothing to listen to.
    if (timeoutMs === 0 && options.signal === undefined) return this.#runOnChannel(prepared, options, record, 0);
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
    const acquireMs = timeoutMs > 0 ? Math.min(timeoutMs, this.#config.pool.acquireTimeoutMs || timeoutMs) : undefined;
    try {
      return await withDeadline(description, { timeoutMs, signal: options.signal }, (abandoned) =>
        this.#runOnChannel(prepared, options, record, deadline, abandoned, acquireMs),
      );
    } catch (error) {
      // Waiting for a channel used up the call's own deadline: that is a timeout, not an exhausted pool.
      if (PoolExhaustedError.is(error) && deadline !== 0 && Date.now() >= deadline - 1) {
        throw new TimeoutError(description, timeoutMs);
      }
      throw error;
    }
  }

  /** Leases a channel (retrying an idempotent call on another if its own dies) and sends the call on it. */
  #runOnChannel(
    prepared: Prepared,
    options: CallOptions,
    record: CallRecord,
    deadline: number,
    abandoned?: AbortSignal,
    acquireMs?: number,
  ): Promise<Answered> {
    const runOptions: RunOptions & { description: string } = {
      workerId: prepared.owner,
      idempotent: options.idempotent,
      signal: abandoned,
      timeoutMs: acquireMs,
      description: prepared.outbound.description,
      onRetry: record.retried,
    };
    prepared.pipeline?.turn.end();
    return this.#channels.run((channel) => this.#send(channel, prepared, deadline, abandoned, record), runOptions);
  }

  /**
   * Sends the call on `channel`; settles with its answer, or when the caller
   * gives up (`abandoned` aborts: deadline, abort), which cancels it in Python.
   */
  #send(
    channel: C,
    prepared: Prepared,
    deadline: number,
    abandoned: AbortSignal | undefined,
    record: CallRecord,
  ): Promise<Answered> {
    record.sent(channel.owner, channel.pid);
    return new Promise((resolve, reject) => {
      const call = new CallInFlight(channel.owner, resolve, reject, this.#callbacksOf(prepared, channel));
      if (call.callbacks !== undefined) call.context = this.#decodeContext(prepared, channel.owner, 'item');
      call.control = channel.send(withRemaining(prepared.outbound, deadline), call);
      if (abandoned !== undefined) call.watch(abandoned);
    });
  }

  async *#stream<T>(call: Call, options: StreamOptions): AsyncGenerator<T> {
    if (this.#closed) throw this.#closedError();
    const window = options.window ?? this.#config.streams.window;
    const prepared = await this.#prepare(call, options, window);
    this.#counts.started();
    const record = this.#telemetry.start(
      call.target,
      'stream',
      prepared.outbound.payload.byteLength,
      prepared.sessionKey,
    );
    prepared.pipeline?.turn.end();
    const lease = await this.#leaseAccepting(prepared, options).catch((error: unknown) => {
      settled(prepared);
      this.#counts.failed();
      this.#counts.finished();
      record.end(error);
      throw atCallSite(error as Error, new Error());
    });
    try {
      record.sent(lease.worker.owner, lease.worker.pid);
      yield* this.#open<T>(lease.worker, traced(prepared, record), options, record);
      this.#counts.succeeded();
      record.end();
    } catch (error) {
      this.#counts.failed();
      record.end(error);
      throw atCallSite(error as Error, new Error());
    } finally {
      this.#counts.finished();
      // A consumer that stopped early ends the stream without an outcome either way.
      record.end();
      lease.release();
      settled(prepared);
    }
  }

  /** Starts a stream on `channel`: its items, with credit as they are consumed, and its deadline and abort. */
  #open<T>(channel: C, prepared: Prepared, options: StreamOptions, record: CallRecord): StreamReceiver<T> {
    const { outbound } = prepared;
    const context = this.#decodeContext(prepared, channel.owner, 'item');
    let control: CallControl | undefined;
    const receiver = new StreamReceiver<T>(
      {
        credit: (count) => control?.credit(count),
        cancel: () => control?.cancel(),
        decode: (body, segments) => {
          record.received(body.byteLength);
          return this.#serializer.decode(body, segments === undefined ? context : { ...context, segments });
        },
      },
      outbound.window,
    );
    const stream = new StreamInFlight(receiver as StreamReceiver<unknown>, this.#callbacksOf(prepared, channel));
    stream.context = context;
    const stop = watchDeadline(outbound.description, outbound.timeoutMs, options.signal, (error) => {
      receiver.fail(error);
      control?.cancel();
    });
    receiver.onDone = () => {
      stop();
      stream.end();
    };
    control = channel.send(outbound, stream);
    stream.control = control;
    if (!receiver.open) stream.end();
    return receiver;
  }

  /**
   * A lease on a channel that can take the stream now. One that stopped taking
   * calls between the lease and now (it broke, or died) is given back and
   * another taken, unless the stream must run on that one.
   */
  async #leaseAccepting(prepared: Prepared, options: StreamOptions): Promise<Lease<C>> {
    const workerId = prepared.owner;
    const description = prepared.outbound.description;
    // The pool names the call in a CancelledError for a wait that was aborted.
    const acquireOptions: AcquireOptions & { description: string } = { workerId, signal: options.signal, description };
    const acquire = () => this.#channels.acquire(acquireOptions);
    let lease = await acquire();
    for (let tries = 0; !lease.worker.accepting && workerId === undefined && tries < this.#config.pool.max; tries++) {
      lease.release();
      lease = await acquire();
    }
    return lease;
  }

  // --- encoding and routing ----------------------------------------------------------------------

  /**
   * Encodes the arguments (once, whatever the retries; or takes them as
   * `encodeArguments` encoded them) and works out which channel must run the
   * call. A promise only when the arguments were big enough to be encoded in
   * a worker thread; routing waits for the encoding, which is what finds the
   * handles.
   */
  #prepare(call: Call, options: CallOptions, window: number, turn?: Turn): Prepared | Promise<Prepared> {
    const encoded = call.encoded === undefined ? this.#encode(call) : ownArguments(call);
    const { payload, handles, callbacks } = encoded;
    const segments = encoded.segments?.made;
    // A call that cannot be routed frees the segments its arguments were put in: it will never be sent.
    try {
      const prepared =
        payload instanceof Uint8Array
          ? this.#routed(call, options, window, payload, handles, callbacks, segments, turn)
          : payload.then((bytes) => this.#routed(call, options, window, bytes, handles, callbacks, segments, turn));
      if (!(prepared instanceof Promise) || encoded.segments === undefined) return prepared;
      return prepared.catch((error: unknown) => {
        encoded.discard();
        throw error;
      });
    } catch (error) {
      encoded.discard();
      throw error;
    }
  }

  #encode(call: Call): ArgumentPayload {
    const segments = this.#sharedMemory === undefined ? undefined : new ArgumentSegments(this.#sharedMemory);
    const handles: HandleRef[] = [];
    const callbacks: HostFunction[] = [];
    const payload = this.#codec.encode([call.args ?? [], call.kwargs ?? {}], {
      target: call.target,
      role: 'args',
      onHandle: (handle) => handles.push(handle),
      onFunction: (fn) => callbackIndex(callbacks, fn),
      sharedMemory: segments,
    });
    return new ArgumentPayload(payload, handles, callbacks, segments);
  }

  #routed(
    call: Call,
    options: CallOptions,
    window: number,
    payload: Uint8Array,
    found: readonly HandleRef[],
    callbacks: HostFunction[],
    segments: readonly SharedSegment[] | undefined,
    given?: Turn,
  ): Prepared | Promise<Prepared> {
    const handles = call.handle === undefined ? found : [call.handle, ...found];
    const named = handles.length === 0 ? undefined : promisedAmong(handles);
    if (named === undefined && given === undefined) {
      return this.#routedTo(call, options, window, payload, handles, callbacks, segments, undefined);
    }
    // Pipelining: in its turn, it goes where the results it names will be, once the calls making them are placed.
    const turn = given ?? this.#takeTurn();
    return inTurn(turn, named ?? []).then(
      () => this.#routedTo(call, options, window, payload, handles, callbacks, segments, { names: named ?? [], turn }),
      (error: unknown) => {
        turn.end();
        throw error;
      },
    );
  }

  /** The next pipelined call's turn: made synchronously as the call is made, so turns follow the program. */
  #takeTurn(): Turn {
    const turn = new Turn(this.#lastTurn);
    this.#lastTurn = turn.ended;
    return turn;
  }

  #routedTo(
    call: Call,
    options: CallOptions,
    window: number,
    payload: Uint8Array,
    handles: readonly HandleRef[],
    callbacks: HostFunction[],
    segments: readonly SharedSegment[] | undefined,
    piped: { readonly names: readonly PromisedHandle[]; readonly turn: Turn } | undefined,
  ): Prepared {
    const session = this.#session(options.session ?? sessionOfHandle(call.handle));
    const owner = this.#owner(handles, session);
    const pipeline = piped === undefined ? undefined : pipelinedUse(call, piped.names, piped.turn);
    return {
      outbound: {
        op: call.op,
        target: call.target,
        handle: call.handle?.id ?? 0,
        session: session?.id,
        payload,
        timeoutMs: options.timeoutMs ?? this.#config.timeouts.callMs,
        window,
        callbacks: callbacks.length > 0,
        pinned: owner !== undefined,
        promise: call.promise === undefined ? 0 : call.promise.id,
        pipelined: pipeline !== undefined,
        description: describeCall(call),
        segments,
      },
      owner,
      sessionKey: session?.id,
      callbacks,
      reviveHandle: options.reviveHandle,
      pipeline,
    };
  }

  /**
   * Prepares a call whose result is promised (pipelining) and places it: it
   * goes to the channel its handles or session pin it to, or else to the one
   * a lease picks now, so that calls naming its result can follow it there
   * before it has run. Failing before that, it fails those calls too.
   */
  async #placePromised(call: Call, options: CallOptions): Promise<Prepared> {
    const promised = call.promise as PromisedHandle;
    const turn = this.#takeTurn();
    let prepared: Prepared | undefined;
    try {
      prepared = await this.#prepare(call, options, 0, turn);
      if (prepared.owner !== undefined) {
        promised.place(prepared.owner, prepared.sessionKey);
        return prepared;
      }
      const lease = await this.#leaseAccepting(prepared, options);
      const owner = lease.worker.owner;
      lease.release();
      promised.place(owner, prepared.sessionKey);
      return { ...prepared, owner, outbound: { ...prepared.outbound, pinned: true } };
    } catch (error) {
      turn.end();
      if (prepared !== undefined) closeSegments(prepared);
      promised.failBeforePlacement(error as Error);
      if (prepared?.pipeline !== undefined) settlePipelined(prepared.pipeline);
      else promised.settle();
      throw error;
    }
  }

  #session(ref: SessionRef | undefined): SessionRef | undefined {
    if (ref === undefined) return undefined;
    const open = this.#sessions.get(ref.id);
    if (open === undefined) {
      throw new SessionError(`Session ${ref.id} is closed; open a new one with bridge.session().`);
    }
    return open;
  }

  /** The channel a call must run on: its session's, or the one holding its handles. */
  #owner(handles: readonly HandleRef[], session: SessionRef | undefined): string | undefined {
    let owner = session?.owner;
    for (const handle of handles) {
      if (handle.released) {
        throw new HandleError(`Handle ${handle.id} (${handle.type}) was released; it can no longer be used.`);
      }
      if (owner === undefined) owner = handle.owner;
      else if (handle.owner !== undefined && handle.owner !== owner) {
        throw new HandleError(
          `Handle ${handle.id} (${handle.type}) lives in ${handle.owner}, but this call runs in ${owner}. ` +
            'Objects from different workers cannot meet in one call: create them in one session (bridge.session()).',
        );
      }
    }
    if (owner !== undefined && this.#channels.worker(owner) === undefined) {
      if (session !== undefined) {
        this.#sessions.delete(session.id);
        throw new SessionError(
          `Session ${session.id} was lost: ${owner}, which held it, exited or restarted. Open a new session.`,
        );
      }
      throw new HandleError(`${owner}, which held this object, exited or restarted; the object is gone.`);
    }
    return owner;
  }

  // --- results --------------------------------------------------------------------------------

  /** How values from `owner` are decoded: handles learn their channel and session, and are counted. */
  #decodeContext(
    prepared: Prepared,
    owner: string,
    role: 'result' | 'item',
    segments?: readonly Uint8Array[],
  ): DecodeContext {
    return {
      target: prepared.outbound.target,
      role,
      segments,
      handle: (wire) => {
        this.#counts.handleMade();
        const session = prepared.sessionKey;
        if (session !== undefined) this.#sessionHandles.set(session, (this.#sessionHandles.get(session) ?? 0) + 1);
        const ref = new HandleRef(wire, owner, session);
        return prepared.reviveHandle === undefined ? ref : prepared.reviveHandle(ref);
      },
    };
  }

  #sessionHandleGone(session: string | undefined): void {
    if (session === undefined) return;
    const held = this.#sessionHandles.get(session);
    if (held !== undefined) this.#sessionHandles.set(session, Math.max(0, held - 1));
  }

  #callbacksOf(prepared: Prepared, channel: C): HostCallbacks | undefined {
    if (prepared.callbacks.length === 0) return undefined;
    return new HostCallbacks(prepared.callbacks, this.#serializer, prepared.outbound.target, channel);
  }

  #closedError(): ClosedError {
    return new ClosedError(`The ${this.kind} invoker`);
  }
}

/** A call's arguments, encoded: the payload, the handles it names and the host functions it passes. */
class ArgumentPayload {
  constructor(
    readonly payload: Uint8Array | Promise<Uint8Array>,
    readonly handles: readonly HandleRef[],
    readonly callbacks: HostFunction[],
    /** The shared-memory segments its large binary values were put in; closed when the call settles. */
    readonly segments: ArgumentSegments | undefined,
  ) {}

  /** The call will not be sent after all: frees its segments. */
  discard(): void {
    this.segments?.close();
  }
}

/** The arguments a call carries encoded, refused if another invoker encoded them (it may speak another format). */
function ownArguments(call: Call): ArgumentPayload {
  const encoded: unknown = call.encoded;
  if (encoded instanceof ArgumentPayload) return encoded;
  throw new TypeError(`${describeCall(call)}: its arguments were encoded by another invoker`);
}

/** The promised handles among a call's handles, or undefined for none. */
function promisedAmong(handles: readonly HandleRef[]): PromisedHandle[] | undefined {
  let named: PromisedHandle[] | undefined;
  for (const handle of handles) {
    if (!isPromised(handle)) continue;
    named ??= [];
    named.push(handle);
  }
  return named;
}

/**
 * Resolves once the turn before `turn` ended and every promised handle in
 * `named` is placed; a PipelineError if the call making one failed before.
 */
function inTurn(turn: Turn, named: readonly PromisedHandle[]): Promise<unknown> {
  if (named.length === 0) return turn.before ?? Promise.resolve();
  return Promise.all([turn.before, ...named.map((handle) => handle.placed)]);
}

/** What a routed call makes and names; the named ones count it among their users until it settles. */
function pipelinedUse(call: Call, names: readonly PromisedHandle[], turn: Turn): Pipelined {
  for (const handle of names) handle.used();
  return { makes: call.promise, names, turn };
}

/** A pipelined call settled: its promise is settled on the host, and it no longer uses those it named. */
function settlePipelined(pipeline: Pipelined): void {
  pipeline.turn.end();
  pipeline.makes?.settle();
  for (const handle of pipeline.names) handle.unused();
}

/** The events of a call (not a stream): settles its caller once, and serves its callbacks meanwhile. */
class CallInFlight implements CallEvents {
  control: CallControl | undefined;
  context: DecodeContext = {};
  readonly callbacks: HostCallbacks | undefined;
  readonly #owner: string;
  readonly #resolve: (answered: Answered) => void;
  readonly #reject: (error: Error) => void;
  #settled = false;
  #abandoned: AbortSignal | undefined;
  #onAbandoned: (() => void) | undefined;

  constructor(
    owner: string,
    resolve: (answered: Answered) => void,
    reject: (error: Error) => void,
    callbacks: HostCallbacks | undefined,
  ) {
    this.#owner = owner;
    this.#resolve = resolve;
    this.#reject = reject;
    this.callbacks = callbacks;
  }

  /** The caller may give up (deadline, abort): then it has its answer, and the work in Python is stopped. */
  watch(abandoned: AbortSignal): void {
    if (this.#settled) return;
    if (abandoned.aborted) {
      this.#abandon(abandoned.reason as Error);
      return;
    }
    this.#abandoned = abandoned;
    this.#onAbandoned = () => this.#abandon(abandoned.reason as Error);
    abandoned.addEventListener('abort', this.#onAbandoned, { once: true });
  }

  result(body: Uint8Array, segments?: readonly Uint8Array[]): void {
    if (this.#finish()) this.#resolve({ body, owner: this.#owner, segments });
  }

  item(): void {
    // A call has no items; a channel that sends one is answered by its final event.
  }

  end(): void {
    this.result(new Uint8Array());
  }

  fail(error: Error): void {
    if (this.#finish()) this.#reject(error);
  }

  callback(request: CallbackRequest): void {
    serveCallback(this.callbacks, request, this.control, this.context);
  }

  #abandon(reason: Error): void {
    this.fail(reason);
    this.control?.cancel();
  }

  /** True the first time: the call is over for the host, and its callbacks still running are answered. */
  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#onAbandoned !== undefined) this.#abandoned?.removeEventListener('abort', this.#onAbandoned);
    this.callbacks?.end(this.control);
    return true;
  }
}

/** The events of a stream, handed to its receiver; its callbacks are served until the consumer is done. */
class StreamInFlight implements CallEvents {
  control: CallControl | undefined;
  context: DecodeContext = {};
  readonly #receiver: StreamReceiver<unknown>;
  readonly #callbacks: HostCallbacks | undefined;

  constructor(receiver: StreamReceiver<unknown>, callbacks: HostCallbacks | undefined) {
    this.#receiver = receiver;
    this.#callbacks = callbacks;
  }

  result(): void {
    this.#receiver.end();
    this.end();
  }

  item(body: Uint8Array, segments?: readonly Uint8Array[]): void {
    this.#receiver.push(body, segments);
  }

  end(): void {
    this.#receiver.end();
    this.#callbacks?.end(this.control);
  }

  fail(error: Error): void {
    this.#receiver.fail(error);
    this.#callbacks?.end(this.control);
  }

  callback(request: CallbackRequest): void {
    serveCallback(this.#callbacks, request, this.control, this.context);
  }
}

/**
 * Runs a callback Python asked for. The control is the channel's answer path; a request that
 * comes before `send()` has returned it cannot happen (Python has not seen the call yet).
 */
function serveCallback(
  callbacks: HostCallbacks | undefined,
  request: CallbackRequest,
  control: CallControl | undefined,
  context: DecodeContext,
): void {
  if (control === undefined) return;
  if (callbacks === undefined) control.answerCallback(request.id, { error: NO_CALLBACKS_BODY });
  else callbacks.run(request, control, context);
}

/** The answer to a callback request of a call that passed no functions. */
const NO_CALLBACKS_BODY = new TextEncoder().encode(
  JSON.stringify({ name: 'Error', message: 'the call was passed no host functions', stack: '' }),
);

/**
 * Fails a stream at its deadline or when its signal aborts; returns the
 * function that stops watching (called when the consumer is done).
 */
function watchDeadline(
  description: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  fail: (error: Error) => void,
): () => void {
  const timer = timeoutMs > 0 ? setTimeout(() => fail(new TimeoutError(description, timeoutMs)), timeoutMs) : undefined;
  const onAbort = (): void => fail(new CancelledError(description, signal?.reason));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
}

/**
 * The call with the trace context of its span, so that Python's span of it is a
 * child; as it is when there is none (no SDK registered), at no cost.
 */
function traced(prepared: Prepared, record: CallRecord): Prepared {
  const trace = record.trace;
  if (trace === undefined) return prepared;
  return { ...prepared, outbound: { ...prepared.outbound, trace } };
}

/** The segments a call's large binary arguments were put in, made as the serializer asks for them. */
class ArgumentSegments implements SharedMemoryWriter {
  readonly thresholdBytes: number;
  /** Those made so far, in the order the payload names them; undefined until the first. */
  made: SharedSegment[] | undefined;
  readonly #lane: SharedMemory;

  constructor(lane: SharedMemory) {
    this.#lane = lane;
    this.thresholdBytes = lane.thresholdBytes;
  }

  put(bytes: Uint8Array): number | undefined {
    const segment = this.#lane.create(bytes);
    if (segment === undefined) return undefined;
    this.made ??= [];
    return this.made.push(segment) - 1;
  }

  close(): void {
    if (this.made !== undefined) for (const segment of this.made) segment.close();
  }
}

/**
 * A call settled and will not be sent again: the shared-memory segments of its
 * arguments are freed, and the promised handles it made or named are told.
 */
function settled(prepared: Prepared): void {
  closeSegments(prepared);
  if (prepared.pipeline !== undefined) settlePipelined(prepared.pipeline);
}

/** Frees the shared-memory segments of a call's arguments. */
function closeSegments(prepared: Prepared): void {
  const segments = prepared.outbound.segments;
  if (segments !== undefined) for (const segment of segments) segment.close();
}

/** The call with what is left of its deadline, so that Python stops it when the caller does. */
function withRemaining(outbound: OutboundCall, deadline: number): OutboundCall {
  if (deadline === 0) return outbound;
  return { ...outbound, timeoutMs: Math.max(1, deadline - Date.now()) };
}

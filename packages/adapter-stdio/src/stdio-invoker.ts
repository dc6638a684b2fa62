// The stdio Invoker: encodes each call once, routes it (to the worker that
// holds its handles or session, else the least-loaded one), and runs it on a
// pool of Python worker processes.

import {
  atCallSite,
  type Call,
  CallCounts,
  type CallOptions,
  ClosedError,
  callbackIndex,
  consoleLogger,
  describeCall,
  HandleError,
  type HandleRef,
  type HostFunction,
  handleIdsByOwner,
  type Invoker,
  type InvokerStats,
  JsonSerializer,
  type Lease,
  type Logger,
  PoolExhaustedError,
  type ResolvedConfig,
  type Serializer,
  SessionError,
  type SessionRef,
  type StreamOptions,
  sessionOfHandle,
  TimeoutError,
} from '@snakebridge/core';
import { PayloadOffloader } from '@snakebridge/offload';
import { findPython, WorkerPool } from '@snakebridge/process-pool';
import { decodeContext, StdioWorker, type WireCall } from './worker/stdio-worker.js';

/** What a StdioInvoker is built from. */
export interface StdioInvokerOptions {
  /** The resolved config (`resolveConfig()`); pool, python, timeouts and protocol settings apply. */
  readonly config: ResolvedConfig;
  /** How values are encoded; the worker loads the Python side of the same serializer. @default JSON */
  readonly serializer?: Serializer | undefined;
  /** Where worker output and lifecycle notes go. @default console at config.logLevel */
  readonly logger?: Logger | undefined;
}

interface OpenSession {
  readonly ref: SessionRef;
  /** The session id on the wire. */
  readonly wireId: number;
}

/** Calls Python in pooled worker processes over pipes. */
export class StdioInvoker implements Invoker {
  readonly kind = 'stdio';
  /** The worker pool: `stats()`, `health()`, and lifecycle events with `on()`. */
  readonly pool: WorkerPool<StdioWorker>;
  readonly #config: ResolvedConfig;
  readonly #serializer: Serializer;
  /** Encodes and decodes large payloads in worker threads. */
  readonly #offload: PayloadOffloader;
  readonly #sessions = new Map<string, OpenSession>();
  #nextSession = 0;
  #closed = false;
  readonly #counts = new CallCounts();

  constructor(options: StdioInvokerOptions) {
    const { config } = options;
    this.#config = config;
    this.#serializer = options.serializer ?? new JsonSerializer();
    this.#offload = new PayloadOffloader({ serializer: this.#serializer, ...config.offload });
    const logger = options.logger ?? consoleLogger(config.logLevel);
    this.pool = new WorkerPool<StdioWorker>({
      factory: async (workerId, hooks) => {
        const python = await findPython(config.python);
        return StdioWorker.start({ workerId, python, config, serializer: this.#serializer, logger, hooks });
      },
      settings: config.pool,
      shutdownGraceMs: config.timeouts.shutdownGraceMs,
      logger,
      name: 'stdio pool',
    });
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('The stdio invoker'));
    return this.pool.start();
  }

  async call<T = unknown>(call: Call, options: CallOptions = {}): Promise<T> {
    if (this.#closed) throw new ClosedError('The stdio invoker');
    const pending = this.#prepare(call, options, 0);
    // Awaited only when the arguments were large enough to be encoded in a worker thread.
    const { wire, workerId } = pending instanceof Promise ? await pending : pending;
    this.#counts.started();
    try {
      const { body, owner } = await this.#run(wire, workerId, options);
      // Awaited only when it was decoded in a worker thread: an await costs a turn of the microtask queue.
      const decoded = this.#offload.decode(body, decodeContext(wire, owner, 'result'));
      const result = (decoded instanceof Promise ? await decoded : decoded) as T;
      this.#counts.succeeded();
      return result;
    } catch (error) {
      this.#counts.failed();
      // Created here, after an await, this Error's stack reaches the user's awaiting code.
      throw atCallSite(error as Error, new Error());
    } finally {
      this.#counts.finished();
    }
  }

  stream<T = unknown>(call: Call, options: StreamOptions = {}): AsyncIterableIterator<T> {
    return this.#stream<T>(call, options);
  }

  async release(handles: readonly HandleRef[]): Promise<void> {
    for (const [workerId, ids] of handleIdsByOwner(handles)) {
      this.#counts.handlesReleased(ids.length);
      this.pool.worker(workerId)?.release(ids);
    }
  }

  async openSession(): Promise<SessionRef> {
    if (this.#closed) throw new ClosedError('The stdio invoker');
    const worker = await this.pool.pinSession();
    this.#nextSession = (this.#nextSession % 0xffffffff) + 1;
    const ref: SessionRef = { id: String(this.#nextSession), owner: worker.id };
    this.#sessions.set(ref.id, { ref, wireId: this.#nextSession });
    return ref;
  }

  async closeSession(session: SessionRef): Promise<void> {
    const open = this.#sessions.get(session.id);
    if (open === undefined) return;
    this.#sessions.delete(session.id);
    this.pool.unpinSession(session.owner);
    this.pool.worker(session.owner)?.release([], open.wireId);
  }

  stats(): InvokerStats {
    return this.#counts.stats();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.pool.close();
    await this.#offload.close();
  }

  // --- internals -------------------------------------------------------------------------

  /** Runs a call on a worker; resolves with the encoded result and the worker that produced it. */
  async #run(
    wire: WireCall,
    workerId: string | undefined,
    options: CallOptions,
  ): Promise<{ body: Uint8Array; owner: string }> {
    const timeoutMs = wire.meta.timeoutMs;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
    const task = async (worker: StdioWorker) => ({
      body: await worker.call(deadline === 0 ? wire : withRemaining(wire, deadline)),
      owner: worker.id,
    });
    try {
      return await this.pool.run(task, {
        workerId,
        idempotent: options.idempotent,
        signal: options.signal,
        timeoutMs: deadline === 0 ? undefined : Math.min(timeoutMs, this.#config.pool.acquireTimeoutMs || timeoutMs),
        description: wire.description,
      });
    } catch (error) {
      // Waiting for a worker used up the call's own deadline: that is a timeout, not an exhausted pool.
      // (And a timeout on a retry names the whole deadline, not what was left of it.)
      const timedOut =
        TimeoutError.is(error) || (PoolExhaustedError.is(error) && deadline !== 0 && Date.now() >= deadline - 1);
      if (timedOut) throw new TimeoutError(wire.description, timeoutMs);
      throw error;
    }
  }

  async *#stream<T>(call: Call, options: StreamOptions): AsyncGenerator<T> {
    if (this.#closed) throw new ClosedError('The stdio invoker');
    const window = options.window ?? this.#config.streams.window;
    const { wire, workerId } = await this.#prepare(call, options, window);
    this.#counts.started();
    const lease = await this.#leaseAccepting(wire, workerId, options).catch((error: unknown) => {
      this.#counts.failed();
      this.#counts.finished();
      throw error;
    });
    try {
      yield* lease.worker.stream<T>(wire);
      this.#counts.succeeded();
    } catch (error) {
      this.#counts.failed();
      throw atCallSite(error as Error, new Error());
    } finally {
      this.#counts.finished();
      lease.release();
    }
  }

  /**
   * A lease on a worker that can take the stream now. One that stopped taking
   * calls between the lease and now (it broke, or died) is given back and
   * another taken, unless the stream must run on that one.
   */
  async #leaseAccepting(
    wire: WireCall,
    workerId: string | undefined,
    options: StreamOptions,
  ): Promise<Lease<StdioWorker>> {
    const acquire = () => this.pool.acquire({ workerId, signal: options.signal, description: wire.description });
    let lease = await acquire();
    for (let tries = 0; !lease.worker.accepting && workerId === undefined && tries < this.#config.pool.max; tries++) {
      lease.release();
      lease = await acquire();
    }
    return lease;
  }

  /**
   * Encodes the arguments and works out which worker must run the call. A
   * promise only when the arguments were big enough to be encoded in a worker
   * thread; routing waits for the encoding, which is what finds the handles.
   */
  #prepare(call: Call, options: CallOptions, window: number): Prepared | Promise<Prepared> {
    const found: Found = { handles: [], callbacks: [] };
    const encoded = this.#offload.encode([call.args ?? [], call.kwargs ?? {}], {
      target: call.target,
      role: 'args',
      onHandle: (handle) => found.handles.push(handle),
      onFunction: (fn) => callbackIndex(found.callbacks, fn),
    });
    if (encoded instanceof Uint8Array) return this.#routed(call, options, window, encoded, found);
    return encoded.then((payload) => this.#routed(call, options, window, payload, found));
  }

  /** The encoded call, and the worker it must run on. */
  #routed(call: Call, options: CallOptions, window: number, payload: Uint8Array, found: Found): Prepared {
    const { handles, callbacks } = found;
    if (call.handle !== undefined) handles.unshift(call.handle);
    const session = this.#session(options.session ?? sessionOfHandle(call.handle));
    const workerId = this.#route(handles, session);
    const description = describeCall(call);
    return {
      workerId,
      wire: {
        meta: {
          op: call.op,
          target: call.target,
          handle: call.handle?.id ?? 0,
          session: session?.wireId ?? 0,
          window,
          timeoutMs: options.timeoutMs ?? this.#config.timeouts.callMs,
        },
        payload,
        description,
        signal: options.signal,
        reviveHandle: (ref) => {
          this.#counts.handleMade();
          return options.reviveHandle === undefined ? ref : options.reviveHandle(ref);
        },
        sessionKey: session?.ref.id,
        callbacks: callbacks.length === 0 ? undefined : callbacks,
      },
    };
  }

  #session(ref: SessionRef | undefined): OpenSession | undefined {
    if (ref === undefined) return undefined;
    const open = this.#sessions.get(ref.id);
    if (open === undefined)
      throw new SessionError(`Session ${ref.id} is closed; open a new one with bridge.session().`);
    return open;
  }

  /** The worker a call must run on: its session's, or the one holding its handles. */
  #route(handles: readonly HandleRef[], session: OpenSession | undefined): string | undefined {
    let owner = session?.ref.owner;
    for (const handle of handles) {
      if (handle.released)
        throw new HandleError(`Handle ${handle.id} (${handle.type}) was released; it can no longer be used.`);
      if (owner === undefined) owner = handle.owner;
      else if (handle.owner !== undefined && handle.owner !== owner) {
        throw new HandleError(
          `Handle ${handle.id} (${handle.type}) lives in worker ${handle.owner}, but this call runs in worker ${owner}. ` +
            'Objects from different workers cannot meet in one call: create them in one session (bridge.session()).',
        );
      }
    }
    if (owner !== undefined && this.pool.worker(owner) === undefined) {
      if (session !== undefined) {
        this.#sessions.delete(session.ref.id);
        throw new SessionError(`Session ${session.ref.id} was lost: its worker ${owner} exited. Open a new session.`);
      }
      throw new HandleError(`The worker ${owner} that held this object exited; the object is gone.`);
    }
    return owner;
  }
}

/** What encoding the arguments found: handles (which route the call) and functions (its callbacks). */
interface Found {
  readonly handles: HandleRef[];
  readonly callbacks: HostFunction[];
}

/** A call ready to send, and the worker that must run it (undefined: any). */
interface Prepared {
  readonly wire: WireCall;
  readonly workerId: string | undefined;
}

function withRemaining(wire: WireCall, deadline: number): WireCall {
  return { ...wire, meta: { ...wire.meta, timeoutMs: Math.max(1, deadline - Date.now()) } };
}

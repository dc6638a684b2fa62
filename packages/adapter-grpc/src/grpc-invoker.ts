// The gRPC Invoker: encodes each call once, routes it (to the server that
// holds its handles or session, else the least-loaded one), and sends it as a
// gRPC call whose deadline is the call's timeout. Two modes:
// - managed: local `python -m snakebridge.server` processes, supervised by the
//   shared WorkerPool exactly like stdio workers;
// - remote: servers someone else runs (grpc.endpoints), balanced client-side
//   with health checks.

import { randomBytes, randomUUID } from 'node:crypto';
import {
  atCallSite,
  type Call,
  CallCounts,
  type CallOptions,
  ClosedError,
  consoleLogger,
  type DecodeContext,
  describeCall,
  errorFromPayload,
  HandleError,
  HandleRef,
  handleIdsByOwner,
  type Invoker,
  type InvokerStats,
  JsonSerializer,
  type Logger,
  ProtocolError,
  type PythonErrorPayload,
  type ResolvedConfig,
  type Serializer,
  SessionError,
  type SessionRef,
  type StreamOptions,
  sessionOfHandle,
  withDeadline,
} from '@snakebridge/core';
import { PayloadOffloader } from '@snakebridge/offload';
import { findPython, WorkerPool } from '@snakebridge/process-pool';
import { ManagedServer } from './managed/managed-server.js';
import { Balancer, type EndpointEvent } from './remote/balancer.js';
import type { EndpointStats } from './remote/endpoint.js';
import type { Lookup } from './remote/sources.js';
import type { Target, Targets } from './target.js';
import { remoteSecurity } from './wire/credentials.js';
import type { CallReply, CallRequest, WireOp } from './wire/proto.js';

export interface GrpcInvokerOptions {
  /** The resolved config (`resolveConfig()`); the grpc, pool, python, timeouts, handles, security and streams settings apply. */
  readonly config: ResolvedConfig;
  /** How values are encoded; the server loads the Python side of the same serializer. @default JSON */
  readonly serializer?: Serializer | undefined;
  /** Where server output and lifecycle notes go. @default console at config.logLevel */
  readonly logger?: Logger | undefined;
  /**
   * Remote mode: how a DNS name in grpc.endpoints becomes addresses (one
   * endpoint each), e.g. from your own service discovery. @default the system resolver
   */
  readonly lookup?: Lookup | undefined;
  /** Remote mode: how often DNS names are resolved again, to follow servers coming and going. @default 30000 */
  readonly resolveIntervalMs?: number | undefined;
}

const WIRE_OPS: Readonly<Record<Call['op'], WireOp>> = {
  call: 'OP_CALL',
  getattr: 'OP_GETATTR',
  setattr: 'OP_SETATTR',
  eval: 'OP_EVAL',
  exec: 'OP_EXEC',
  iter: 'OP_ITER',
};
/** Room for a CallRequest's own fields around its payload. */
const ENVELOPE_BYTES = 256;

/** One call, encoded and routed, ready to send (again, if it is retried). */
interface Prepared {
  readonly request: CallRequest;
  /** The server that must run it (its handles or session live there), if any. */
  readonly owner: string | undefined;
  /** That server's instance when the call was routed: a server that restarted since refuses the call. */
  readonly instance: string | undefined;
  readonly sessionKey: string | undefined;
  readonly description: string;
  readonly timeoutMs: number;
}

/** Calls Python gRPC servers: local ones it supervises (managed) or remote ones it balances over. */
export class GrpcInvoker implements Invoker {
  readonly kind = 'grpc';
  readonly mode: 'managed' | 'remote';
  /** Managed mode: the pool of local servers (`stats()`, `health()`, `on()`); undefined in remote mode. */
  readonly pool: WorkerPool<ManagedServer> | undefined;
  readonly #balancer: Balancer | undefined;
  readonly #targets: Targets<Target>;
  readonly #config: ResolvedConfig;
  readonly #serializer: Serializer;
  /** Encodes and decodes large payloads in worker threads. */
  readonly #offload: PayloadOffloader;
  readonly #sessions = new Map<string, SessionRef>();
  #closed = false;
  readonly #counts = new CallCounts();

  /** @throws ConfigError for plaintext to a remote endpoint without `grpc.insecure`, or an unreadable PEM file. */
  constructor(options: GrpcInvokerOptions) {
    const { config } = options;
    this.#config = config;
    this.#serializer = options.serializer ?? new JsonSerializer();
    this.#offload = new PayloadOffloader({ serializer: this.#serializer, ...config.offload });
    this.mode = config.grpc.mode;
    const logger = options.logger ?? consoleLogger(config.logLevel);
    if (config.grpc.mode === 'managed') {
      // The servers listen on loopback, where any local user could call them: this secret keeps them ours.
      const token = config.grpc.token ?? randomBytes(32).toString('base64url');
      this.pool = new WorkerPool<ManagedServer>({
        factory: async (workerId, hooks) => {
          const python = await findPython(config.python);
          return ManagedServer.start({ workerId, python, config, serializer: this.#serializer, logger, token, hooks });
        },
        settings: config.pool,
        shutdownGraceMs: config.timeouts.shutdownGraceMs,
        logger,
        name: 'gRPC server pool',
      });
      this.#targets = this.pool;
    } else {
      this.#balancer = new Balancer({
        config,
        serializer: this.#serializer,
        security: remoteSecurity(config.grpc, logger),
        logger,
        lookup: options.lookup,
        resolveIntervalMs: options.resolveIntervalMs,
      });
      this.#targets = this.#balancer;
    }
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('The gRPC invoker'));
    return this.#targets.start();
  }

  async call<T = unknown>(call: Call, options: CallOptions = {}): Promise<T> {
    if (this.#closed) throw new ClosedError('The gRPC invoker');
    const pending = this.#prepare(call, options);
    const prepared = pending instanceof Promise ? await pending : pending;
    this.#counts.started();
    try {
      const result = (await this.#run(prepared, call, options)) as T;
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
    for (const [owner, ids] of handleIdsByOwner(handles)) {
      this.#counts.handlesReleased(ids.length);
      const target = this.#targets.worker(owner);
      target?.release(ids, undefined, target.instance);
    }
  }

  async openSession(): Promise<SessionRef> {
    if (this.#closed) throw new ClosedError('The gRPC invoker');
    const target = await this.#targets.pinSession();
    // Chosen here, unique across hosts: many hosts may share one remote server.
    const ref: SessionRef = { id: randomUUID(), owner: target.owner };
    this.#sessions.set(ref.id, ref);
    return ref;
  }

  async closeSession(session: SessionRef): Promise<void> {
    if (!this.#sessions.delete(session.id)) return;
    this.#targets.unpinSession(session.owner);
    const target = this.#targets.worker(session.owner);
    target?.release([], session.id, target.instance);
  }

  stats(): InvokerStats {
    return this.#counts.stats();
  }

  /** Remote mode: each endpoint, in rotation or not, with its calls in flight and served. Empty in managed mode. */
  endpoints(): EndpointStats[] {
    return this.#balancer?.stats() ?? [];
  }

  /** Remote mode: subscribes to endpoints leaving and rejoining rotation; returns the unsubscribe function. */
  onEndpoint(listener: (event: EndpointEvent) => void): () => void {
    return this.#balancer?.on(listener) ?? (() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#targets.close();
    await this.#offload.close();
  }

  // --- internals -------------------------------------------------------------------------

  #run(prepared: Prepared, call: Call, options: CallOptions): Promise<unknown> {
    const { timeoutMs, description } = prepared;
    const acquireMs = timeoutMs > 0 ? Math.min(timeoutMs, this.#config.pool.acquireTimeoutMs || timeoutMs) : undefined;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : 0;
    // The deadline covers waiting for a server too; at the deadline the caller is answered and the RPC cancelled.
    return withDeadline(description, { timeoutMs, signal: options.signal }, (abandoned) =>
      this.#targets.run(
        async (target) => {
          const reply = await target.call(prepared.request, {
            description,
            timeoutMs: deadline === 0 ? 0 : Math.max(1, deadline - Date.now()),
            signal: abandoned,
            instance: prepared.instance,
          });
          // A large result may be decoded in a worker thread: then this is a promise, and awaited in turn.
          return this.#outcome(reply, target, prepared, call, options);
        },
        { workerId: prepared.owner, idempotent: options.idempotent, signal: abandoned, timeoutMs: acquireMs },
      ),
    );
  }

  async *#stream<T>(call: Call, options: StreamOptions): AsyncGenerator<T> {
    if (this.#closed) throw new ClosedError('The gRPC invoker');
    const window = options.window ?? this.#config.streams.window;
    const prepared = await this.#prepare(call, options);
    this.#counts.started();
    const lease = await this.#targets.acquire({ workerId: prepared.owner, signal: options.signal }).catch((error) => {
      this.#counts.failed();
      this.#counts.finished();
      throw atCallSite(error as Error, new Error());
    });
    try {
      const target = lease.worker;
      yield* target.stream<T>(prepared.request, {
        description: prepared.description,
        timeoutMs: prepared.timeoutMs,
        signal: options.signal,
        instance: prepared.instance,
        window,
        // Items decode here: a stream hands them over one at a time, in order.
        decode: (body) => this.#serializer.decode(body, this.#context(target, prepared, call, options, 'item')),
      });
      this.#counts.succeeded();
    } catch (error) {
      this.#counts.failed();
      throw atCallSite(error as Error, new Error());
    } finally {
      this.#counts.finished();
      lease.release();
    }
  }

  #outcome(reply: CallReply, target: Target, prepared: Prepared, call: Call, options: CallOptions): unknown {
    if (reply.outcome === 'error') {
      const payload = JSON.parse(Buffer.from(reply.error ?? []).toString('utf8')) as PythonErrorPayload;
      throw errorFromPayload(payload, prepared.description);
    }
    return this.#offload.decode(
      reply.result ?? new Uint8Array(),
      this.#context(target, prepared, call, options, 'result'),
    );
  }

  #context(
    target: Target,
    prepared: Prepared,
    call: Call,
    options: CallOptions,
    role: 'result' | 'item',
  ): DecodeContext {
    return {
      target: call.target,
      role,
      handle: (wire) => {
        this.#counts.handleMade();
        const ref = new HandleRef(wire, target.owner, prepared.sessionKey);
        return options.reviveHandle === undefined ? ref : options.reviveHandle(ref);
      },
    };
  }

  /**
   * Encodes the arguments (once, whatever the retries) and works out which
   * server must run the call. A promise only when the arguments were big
   * enough to be encoded in a worker thread: an await costs a turn of the microtask queue.
   */
  #prepare(call: Call, options: CallOptions): Prepared | Promise<Prepared> {
    const handles: HandleRef[] = [];
    const encoded = this.#offload.encode([call.args ?? [], call.kwargs ?? {}], {
      target: call.target,
      role: 'args',
      onHandle: (handle) => handles.push(handle),
    });
    if (encoded instanceof Uint8Array) return this.#route(call, options, encoded, handles);
    return encoded.then((payload) => this.#route(call, options, payload, handles));
  }

  /** Checks the encoded call fits in a message and routes it. */
  #route(call: Call, options: CallOptions, payload: Uint8Array, handles: HandleRef[]): Prepared {
    const description = describeCall(call);
    const limit = this.#config.grpc.maxMessageBytes;
    if (payload.byteLength + Buffer.byteLength(call.target) + ENVELOPE_BYTES > limit) {
      throw new ProtocolError(
        `The call to '${description}' is ${payload.byteLength} bytes, more than grpc.maxMessageBytes (${limit}). ` +
          'Raise the limit (and the server’s --max-message-bytes), or send the data in parts.',
      );
    }
    if (call.handle !== undefined) handles.unshift(call.handle);
    const session = this.#session(options.session ?? sessionOfHandle(call.handle));
    const owner = this.#owner(handles, session);
    return {
      request: {
        op: WIRE_OPS[call.op],
        target: call.target,
        handle: call.handle?.id ?? 0,
        session: session?.id ?? '',
        serializer: this.#serializer.id,
        payload,
      },
      owner,
      instance: owner === undefined ? undefined : this.#targets.worker(owner)?.instance,
      sessionKey: session?.id,
      description,
      timeoutMs: options.timeoutMs ?? this.#config.timeouts.callMs,
    };
  }

  #session(ref: SessionRef | undefined): SessionRef | undefined {
    if (ref === undefined) return undefined;
    const open = this.#sessions.get(ref.id);
    if (open === undefined) {
      throw new SessionError(`Session ${ref.id} is closed; open a new one with bridge.session().`);
    }
    return open;
  }

  /** The server a call must run on: its session's, or the one holding its handles. */
  #owner(handles: readonly HandleRef[], session: SessionRef | undefined): string | undefined {
    let owner = session?.owner;
    for (const handle of handles) {
      if (handle.released) {
        throw new HandleError(`Handle ${handle.id} (${handle.type}) was released; it can no longer be used.`);
      }
      if (owner === undefined) owner = handle.owner;
      else if (handle.owner !== undefined && handle.owner !== owner) {
        throw new HandleError(
          `Handle ${handle.id} (${handle.type}) lives on server ${handle.owner}, but this call runs on ${owner}. ` +
            'Objects from different servers cannot meet in one call: create them in one session (bridge.session()).',
        );
      }
    }
    if (owner !== undefined && this.#targets.worker(owner) === undefined) {
      if (session !== undefined) {
        this.#sessions.delete(session.id);
        throw new SessionError(
          `Session ${session.id} was lost: its server ${owner} exited or restarted. Open a new session.`,
        );
      }
      throw new HandleError(`The server ${owner} that held this object exited or restarted; the object is gone.`);
    }
    return owner;
  }
}

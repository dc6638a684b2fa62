// One channel to one SnakeBridge gRPC server: the handshake, calls with
// deadlines and cancellation, streams with credit, releases, stats and health
// checks. It keeps the RPCs in flight so that they can all be failed at once
// when the server is known to be gone.

import { randomUUID } from 'node:crypto';
import {
  Client,
  type ClientUnaryCall,
  type CallOptions as GrpcCallOptions,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  type Call,
  type CallControl,
  type CallEvents,
  CancelledError,
  type OutboundCall,
  ProtocolError,
  type Serializer,
  type SnakeBridgeError,
  type TraceContext,
} from '@snakebridge/core';
import { type ChannelSecurity, tokenMetadata } from './credentials.js';
import { type CallRequest, type HealthCheckResponse, type HelloReply, services, type WireOp } from './proto.js';
import { RemoteCall } from './remote-call.js';
import { errorFromStatus, needsHello } from './status.js';

/** Request metadata naming the server instance a call's handles or session were made on. */
export const INSTANCE_KEY = 'snakebridge-instance';
/** Request metadata carrying the caller's span (W3C Trace Context), only when an OpenTelemetry SDK traces the call. */
export const TRACEPARENT_KEY = 'traceparent';
export const TRACESTATE_KEY = 'tracestate';
/** The bridge protocol version, as over stdio: 2 added pipelining (CallRequest's promise and pipeline). */
export const PROTOCOL_VERSION = 2;
/** Room for a CallRequest's own fields around its payload. */
const ENVELOPE_BYTES = 256;
const WIRE_OPS: Readonly<Record<Call['op'], WireOp>> = {
  call: 'OP_CALL',
  getattr: 'OP_GETATTR',
  setattr: 'OP_SETATTR',
  eval: 'OP_EVAL',
  exec: 'OP_EXEC',
  iter: 'OP_ITER',
};
/** The control of a call refused before it was sent: there is nothing to stop or answer. */
const NO_CONTROL: CallControl = { credit: () => {}, cancel: () => {}, answerCallback: () => {} };

export interface ConnectionOptions {
  /** `host:port`, `[v6]:port` or `unix:/path`. */
  readonly address: string;
  /** How errors name the server: the endpoint, or `server w1 (127.0.0.1:41234)`. */
  readonly label: string;
  readonly security: ChannelSecurity;
  readonly serializer: Serializer;
  /**
   * Turns the typed error of a failed RPC into the one the caller sees. A
   * managed server maps transport failures to WorkerCrashedError once its
   * process is known to have died; a remote endpoint takes itself out of rotation.
   */
  readonly onError?: ((error: SnakeBridgeError, description: string) => Promise<Error>) | undefined;
  /** The largest message the server takes (grpc.maxMessageBytes): a larger call fails here, typed. */
  readonly maxMessageBytes?: number | undefined;
}

/** How one call is sent. */
export interface RpcOptions {
  /** The call, as error messages name it. */
  readonly description: string;
  /** 0: no deadline. Becomes the gRPC deadline, so the server stops the call then too. */
  readonly timeoutMs: number;
  /** Aborting cancels the RPC (which cancels the call in Python). */
  readonly signal?: AbortSignal | undefined;
  /** The server instance the call's handles or session were made on; a restarted server refuses them. */
  readonly instance?: string | undefined;
}

interface InFlight {
  readonly description: string;
  /** Fails the caller now and cancels the RPC. */
  readonly fail: (error: Error) => void;
}

export class BridgeConnection {
  readonly address: string;
  readonly label: string;
  readonly #client: Client;
  readonly #options: ConnectionOptions;
  /** Its own RPCs in flight (Hello, Release, Stats, Health). */
  readonly #inFlight = new Set<InFlight>();
  /** Calls and streams in flight. */
  readonly #calls = new Set<RemoteCall>();
  /** Resolves `idle()` once the last call in flight is over. */
  #whenIdle: (() => void) | undefined;
  /** The server instance the last Hello reached (it changes when the server restarts). */
  #instance: string | undefined;
  /**
   * The pipeline scope of this host's promised handles on the server
   * (docs/protocol.md, "Pipelining"): a server serves many hosts, each
   * numbering its own. Sent only with the calls and releases that need it.
   */
  readonly #pipeline = randomUUID();
  #hello: Promise<HelloReply> | undefined;
  #closed = false;

  constructor(options: ConnectionOptions) {
    this.address = options.address;
    this.label = options.label;
    this.#options = options;
    this.#client = new Client(options.address, options.security.credentials, options.security.options);
  }

  /** The server instance the last Hello reached, if one did. */
  get instance(): string | undefined {
    return this.#instance;
  }

  /** Calls and streams in flight. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /** Resolves once no call or stream is in flight. */
  idle(): Promise<void> {
    if (this.#calls.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#whenIdle;
      this.#whenIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  // --- the handshake ---------------------------------------------------------------------

  /**
   * Agrees on the protocol version and the serializer (the server loads its
   * Python side). Concurrent callers share one Hello.
   *
   * @throws ProtocolError if the server refuses (another version, a serializer it cannot load).
   */
  hello(timeoutMs: number): Promise<HelloReply> {
    this.#hello ??= this.#sayHello(timeoutMs).finally(() => {
      this.#hello = undefined;
    });
    return this.#hello;
  }

  async #sayHello(timeoutMs: number): Promise<HelloReply> {
    const { serializer } = this.#options;
    const request = {
      protocol: PROTOCOL_VERSION,
      serializer: serializer.id,
      serializerOptions: Buffer.from(JSON.stringify(serializer.pythonOptions ?? {})),
    };
    let instance: string | undefined;
    let reply: HelloReply;
    try {
      reply = await this.#unary(services().hello, request, { description: 'Hello', timeoutMs }, (call) =>
        call.on('metadata', (metadata: Metadata) => {
          const value = metadata.get(INSTANCE_KEY)[0];
          if (value !== undefined) instance = String(value);
        }),
      );
    } catch (error) {
      if (!needsHello(error)) throw error;
      // The server refused the handshake itself: another protocol version, a serializer it cannot load.
      throw new ProtocolError(`${this.label} refused the handshake: ${grpcDetails(error)}`, { cause: error });
    }
    if (reply.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError(
        `${this.label} speaks protocol ${reply.protocol}, this host ${PROTOCOL_VERSION}: install matching versions ` +
          'of @snakebridge/adapter-grpc and the snakebridge Python package.',
      );
    }
    this.#instance = instance;
    return reply;
  }

  // --- calls -----------------------------------------------------------------------------------

  /**
   * Sends a call: a unary Call, or an Exchange when it streams or passes host
   * functions. Its result, items, callbacks and errors arrive as `events`.
   *
   * @param instance - the server instance the call's handles or session were made on; a restarted server refuses them
   */
  send(call: OutboundCall, events: CallEvents, instance: string | undefined): CallControl {
    const request = this.#request(call);
    const limit = this.#options.maxMessageBytes;
    if (limit !== undefined && call.payload.byteLength + Buffer.byteLength(call.target) + ENVELOPE_BYTES > limit) {
      events.fail(
        new ProtocolError(
          `The call to '${call.description}' is ${call.payload.byteLength} bytes, more than grpc.maxMessageBytes ` +
            `(${limit}). Raise the limit (and the server’s --max-message-bytes), or send the data in parts.`,
        ),
      );
      return NO_CONTROL;
    }
    const remote = new RemoteCall(call, events, {
      label: this.label,
      typed: (error, sent) => this.#typed(error, { description: sent.description, timeoutMs: sent.timeoutMs }),
      settled: (done) => this.#settled(done),
    });
    this.#calls.add(remote);
    this.#start(remote, request, instance, false);
    return remote;
  }

  /**
   * Starts the call's RPC. A server that forgot our Hello (it restarted)
   * refuses before running anything: it is greeted, and the call sent again, once.
   */
  #start(remote: RemoteCall, request: CallRequest, instance: string | undefined, greeted: boolean): void {
    const { call } = remote;
    const metadata = this.#metadata(instance);
    if (call.trace !== undefined) withTraceContext(metadata, call.trace);
    const options: GrpcCallOptions = call.timeoutMs > 0 ? { deadline: Date.now() + call.timeoutMs } : {};
    const greetAndRetry = greeted
      ? undefined
      : () =>
          this.hello(Math.max(1_000, call.timeoutMs)).then(
            // Cancelled while the server was greeted: it is not sent again.
            () => (remote.final ? undefined : this.#start(remote, request, instance, true)),
            (error: unknown) => remote.fail(error as Error),
          );
    if (!remote.exchanges) {
      const method = services().call;
      remote.unary(
        (done) =>
          this.#client.makeUnaryRequest(
            method.path,
            method.requestSerialize,
            method.responseDeserialize,
            request,
            metadata,
            options,
            done,
          ),
        greetAndRetry,
      );
      return;
    }
    const method = services().exchange;
    const duplex = this.#client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      metadata,
      options,
    );
    remote.exchange(duplex, { call: request, window: call.window }, greetAndRetry);
  }

  #settled(call: RemoteCall): void {
    if (!this.#calls.delete(call) || this.#calls.size > 0) return;
    const idle = this.#whenIdle;
    this.#whenIdle = undefined;
    idle?.();
  }

  #request(call: OutboundCall): CallRequest {
    const request: CallRequest = {
      op: WIRE_OPS[call.op],
      target: call.target,
      handle: call.handle,
      session: call.session ?? '',
      serializer: this.#options.serializer.id,
      payload: call.payload,
    };
    // Pipelining's fields only where used: protobufjs writes every field it is given, a default one too.
    return call.pipelined ? { ...request, promise: call.promise, pipeline: this.#pipeline } : request;
  }

  /**
   * Frees handles (promised ones too: those of this host's pipeline scope), and with a session everything it
   * holds. Failures are reported, not thrown at callers.
   */
  release(handles: readonly number[], session: string | undefined, instance: string | undefined): Promise<void> {
    const request = { handles, session: session ?? '', pipeline: this.#pipeline };
    return this.#unary(services().release, request, { description: 'Release', timeoutMs: 10_000, instance }).then(
      () => undefined,
    );
  }

  /** The server's resident memory, RPCs in flight and live handles. */
  stats(timeoutMs: number): Promise<{ rss: number; inFlight: number; handles: number }> {
    return this.#unary(services().stats, {}, { description: 'Stats', timeoutMs });
  }

  /** The grpc.health.v1 status of the whole server (no token needed). */
  async health(timeoutMs: number): Promise<HealthCheckResponse['status']> {
    const reply = await this.#unary(services().check, { service: '' }, { description: 'Health/Check', timeoutMs });
    return reply.status;
  }

  /** Fails every RPC in flight now, with the error `error` makes for it, and cancels them. */
  failAll(error: (description: string) => Error): void {
    for (const call of [...this.#calls]) call.fail(error(call.call.description));
    for (const entry of [...this.#inFlight]) {
      this.#inFlight.delete(entry);
      entry.fail(error(entry.description));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }

  // --- internals ---------------------------------------------------------------------------------

  #unary<Req, Res>(
    method: { path: string; requestSerialize: (value: Req) => Buffer; responseDeserialize: (bytes: Buffer) => Res },
    request: Req,
    options: RpcOptions,
    onCall?: (call: ClientUnaryCall) => void,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const { signal, timeoutMs } = options;
      const callOptions: GrpcCallOptions = timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
      let settled = false;
      let onAbort: (() => void) | undefined;
      const entry: InFlight = {
        description: options.description,
        fail: (error) => {
          finish();
          reject(error);
          call.cancel();
        },
      };
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        this.#inFlight.delete(entry);
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const call = this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#metadata(options.instance),
        callOptions,
        (error: ServiceError | null, reply?: Res) => {
          if (!finish()) return;
          if (error === null) resolve(reply as Res);
          else this.#typed(error, options).then(reject, reject);
        },
      );
      onCall?.(call);
      this.#inFlight.add(entry);
      if (signal !== undefined) {
        onAbort = () => {
          // The caller has had its answer already (withDeadline); this settles the pool's lease.
          if (finish()) reject(abortReason(signal, options.description));
          call.cancel();
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  #typed(error: ServiceError, options: RpcOptions): Promise<Error> {
    const typed = errorFromStatus(error, {
      description: options.description,
      server: this.label,
      timeoutMs: options.timeoutMs,
    });
    const hook = this.#options.onError;
    return hook === undefined || needsHello(typed) ? Promise.resolve(typed) : hook(typed, options.description);
  }

  #metadata(instance: string | undefined): Metadata {
    const metadata = tokenMetadata(this.#options.security.token);
    if (instance !== undefined) metadata.set(INSTANCE_KEY, instance);
    return metadata;
  }
}

/**
 * The W3C trace context of the call's span, as the standard `traceparent` and
 * `tracestate` metadata: the server's span of the call becomes its child.
 */
function withTraceContext(metadata: Metadata, trace: TraceContext): void {
  metadata.set(TRACEPARENT_KEY, trace.traceparent);
  if (trace.tracestate !== undefined) metadata.set(TRACESTATE_KEY, trace.tracestate);
}

function abortReason(signal: AbortSignal, description: string): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledError(description, signal.reason);
}

function grpcDetails(error: unknown): string {
  const cause = (error as { cause?: { details?: unknown } }).cause;
  return typeof cause?.details === 'string' ? cause.details : String((error as Error).message);
}

// One channel to one SnakeBridge gRPC server: the handshake, calls with
// deadlines and cancellation, streams with credit, releases, stats and health
// checks. It keeps the RPCs in flight so that they can all be failed at once
// when the server is known to be gone.

import {
  Client,
  type ClientUnaryCall,
  type CallOptions as GrpcCallOptions,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { CancelledError, ProtocolError, type Serializer, type SnakeBridgeError } from '@snakebridge/core';
import { type ChannelSecurity, tokenMetadata } from './credentials.js';
import { type CallReply, type CallRequest, type HealthCheckResponse, type HelloReply, services } from './proto.js';
import { errorFromStatus, needsHello } from './status.js';
import { StreamCall } from './stream-call.js';

/** Request metadata naming the server instance a call's handles or session were made on. */
export const INSTANCE_KEY = 'snakebridge-instance';
export const PROTOCOL_VERSION = 1;

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

export interface StreamRpcOptions extends RpcOptions {
  readonly window: number;
  readonly decode: (body: Uint8Array) => unknown;
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
  readonly #inFlight = new Set<InFlight>();
  /** The server instance the last Hello reached (it changes when the server restarts). */
  #instance: string | undefined;
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

  /** RPCs (calls and streams) in flight. */
  get inFlight(): number {
    return this.#inFlight.size;
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

  /** Sends one call and resolves with its reply. A server that forgot our Hello (it restarted) gets another. */
  async call(request: CallRequest, options: RpcOptions): Promise<CallReply> {
    try {
      return await this.#unary(services().call, request, options);
    } catch (error) {
      if (!needsHello(error) || options.signal?.aborted) throw error;
      // Refused before anything ran: safe to send again once the server knows us.
      await this.hello(Math.max(1_000, options.timeoutMs));
      return await this.#unary(services().call, request, options);
    }
  }

  /** Starts a streamed call; its items arrive through the returned iterator. */
  stream<T>(request: CallRequest, options: StreamRpcOptions): AsyncIterableIterator<T> {
    const method = services().stream;
    const metadata = this.#metadata(options.instance);
    const callOptions: GrpcCallOptions = options.timeoutMs > 0 ? { deadline: Date.now() + options.timeoutMs } : {};
    const duplex = this.#client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      metadata,
      callOptions,
    );
    let entry: InFlight | undefined;
    const stream = new StreamCall<T>(duplex, request, {
      window: options.window,
      description: options.description,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      decode: options.decode,
      mapError: (error) => this.#typed(error, options),
      onSettled: () => {
        if (entry !== undefined) this.#inFlight.delete(entry);
      },
    });
    entry = { description: options.description, fail: (error) => stream.fail(error) };
    this.#inFlight.add(entry);
    return stream;
  }

  /** Frees handles, and with a session everything it holds. Failures are reported, not thrown at callers. */
  release(handles: readonly number[], session: string | undefined, instance: string | undefined): Promise<void> {
    const request = { handles, session: session ?? '' };
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

function abortReason(signal: AbortSignal, description: string): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledError(description, signal.reason);
}

function grpcDetails(error: unknown): string {
  const cause = (error as { cause?: { details?: unknown } }).cause;
  return typeof cause?.details === 'string' ? cause.details : String((error as Error).message);
}

// The gRPC Invoker: core's one invoker over the gRPC transport, with large
// payloads encoded and decoded off the event loop.

import { JsonSerializer, type Logger, type ResolvedConfig, type Serializer, TransportInvoker } from '@snakebridge/core';
import { offloadOptions, PayloadOffloader } from '@snakebridge/offload';
import type { WorkerPool } from '@snakebridge/process-pool';
import { GrpcTransport } from './grpc-transport.js';
import type { ManagedServer } from './managed/managed-server.js';
import type { EndpointEvent } from './remote/balancer.js';
import type { EndpointStats } from './remote/endpoint.js';
import type { Lookup } from './remote/sources.js';
import type { GrpcChannel } from './target.js';

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

/** Calls Python gRPC servers: local ones it supervises (managed) or remote ones it balances over. */
export class GrpcInvoker extends TransportInvoker<GrpcChannel> {
  readonly mode: 'managed' | 'remote';
  /** Managed mode: the pool of local servers (`stats()`, `health()`, `on()`); undefined in remote mode. */
  readonly pool: WorkerPool<ManagedServer> | undefined;
  readonly #transport: GrpcTransport;

  /** @throws ConfigError for plaintext to a remote endpoint without `grpc.insecure`, or an unreadable PEM file. */
  constructor(options: GrpcInvokerOptions) {
    const { config } = options;
    const serializer = options.serializer ?? new JsonSerializer();
    const transport = new GrpcTransport({ ...options, config, serializer });
    const codec = new PayloadOffloader({ serializer, ...offloadOptions.resolve(config) });
    super({ transport, config, serializer, codec });
    this.#transport = transport;
    this.mode = transport.mode;
    this.pool = transport.pool;
  }

  /** Remote mode: each endpoint, in rotation or not, with its calls in flight and served. Empty in managed mode. */
  endpoints(): EndpointStats[] {
    return this.#transport.balancer?.stats() ?? [];
  }

  /** Remote mode: subscribes to endpoints leaving and rejoining rotation; returns the unsubscribe function. */
  onEndpoint(listener: (event: EndpointEvent) => void): () => void {
    return this.#transport.balancer?.on(listener) ?? (() => {});
  }
}

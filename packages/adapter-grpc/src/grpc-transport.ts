// The gRPC Transport, in two modes:
// - managed: local `python -m snakebridge.server` processes, supervised by the
//   shared WorkerPool exactly like stdio workers;
// - remote: servers someone else runs (grpc.endpoints), balanced client-side
//   with health checks.
// Everything else a call needs is done by core's TransportInvoker.

import { randomBytes } from 'node:crypto';
import {
  type Channels,
  consoleLogger,
  type Logger,
  type ResolvedConfig,
  type Serializer,
  type Transport,
  toLogger,
} from '@snakebridge/core';
import { findPython, WorkerPool } from '@snakebridge/process-pool';
import { ManagedServer } from './managed/managed-server.js';
import { grpcOptions } from './options.js';
import { Balancer } from './remote/balancer.js';
import type { Lookup } from './remote/sources.js';
import type { GrpcChannel } from './target.js';
import { remoteSecurity } from './wire/credentials.js';

/** What a GrpcTransport is built from. */
export interface GrpcTransportOptions {
  /** The resolved config: grpc, pool, python, timeouts, handles and security settings apply. */
  readonly config: ResolvedConfig;
  /** The serializer the servers load the Python side of. */
  readonly serializer: Serializer;
  /** Where server output and lifecycle notes go. @default console at config.logLevel */
  readonly logger?: Logger | undefined;
  /** Remote mode: how a DNS name in grpc.endpoints becomes addresses. @default the system resolver */
  readonly lookup?: Lookup | undefined;
  /** Remote mode: how often DNS names are resolved again. @default 30000 */
  readonly resolveIntervalMs?: number | undefined;
}

/** Python gRPC servers: local ones it supervises (managed) or remote ones it balances over. */
export class GrpcTransport implements Transport<GrpcChannel> {
  readonly kind = 'grpc';
  readonly mode: 'managed' | 'remote';
  readonly channels: Channels<GrpcChannel>;
  /** Managed mode: the pool of local servers; undefined in remote mode. */
  readonly pool: WorkerPool<ManagedServer> | undefined;
  /** Remote mode: the balancer over the endpoints; undefined in managed mode. */
  readonly balancer: Balancer | undefined;

  /** @throws ConfigError for plaintext to a remote endpoint without `grpc.insecure`, or an unreadable PEM file. */
  constructor(options: GrpcTransportOptions) {
    const { config, serializer } = options;
    const logger = options.logger ? toLogger(options.logger) : consoleLogger(config.logLevel);
    const grpc = grpcOptions.resolve(config);
    this.mode = grpc.mode;
    if (grpc.mode === 'managed') {
      // The servers listen on loopback, where any local user could call them: this secret keeps them ours.
      const token = grpc.token ?? randomBytes(32).toString('base64url');
      this.pool = new WorkerPool<ManagedServer>({
        factory: async (workerId, hooks) => {
          const python = await findPython(config.python);
          return ManagedServer.start({ workerId, python, config, serializer, logger, token, hooks });
        },
        settings: config.pool,
        shutdownGraceMs: config.timeouts.shutdownGraceMs,
        logger,
        name: 'gRPC server pool',
        watch: config.python.reload ? config.python.path : undefined,
      });
      this.channels = this.pool;
    } else {
      this.balancer = new Balancer({
        config,
        serializer,
        security: remoteSecurity(grpc, logger),
        logger,
        lookup: options.lookup,
        resolveIntervalMs: options.resolveIntervalMs,
      });
      this.channels = this.balancer;
    }
  }
}

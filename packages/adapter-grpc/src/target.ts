// What the gRPC transport sends calls to, whatever the mode: a server it
// manages (ManagedServer, pooled by the shared WorkerPool) or a remote
// endpoint (RemoteEndpoint, picked by the Balancer).

import type { Channel } from '@snakebridge/core';

/** A gRPC server as a transport channel. */
export interface GrpcChannel extends Channel {
  /** The server instance (changes when a server restarts): calls pinned to the old one are refused. */
  readonly instance: string | undefined;
}

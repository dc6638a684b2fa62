// What the invoker sends calls to, whatever the mode: a server it manages
// (ManagedServer, pooled by the shared WorkerPool) or a remote endpoint
// (RemoteEndpoint, picked by the Balancer).

import type { PoolWorker, ProcessPool } from '@snakebridge/core';
import type { RpcOptions, StreamRpcOptions } from './wire/connection.js';
import type { CallReply, CallRequest } from './wire/proto.js';

export interface Target extends PoolWorker {
  /**
   * Who holds the handles and sessions made here, as HandleRef.owner and
   * SessionRef.owner record it: the worker id of a managed server, or
   * `endpoint#instance` of a remote one (a restarted server is another owner).
   */
  readonly owner: string;
  /** The server instance (changes when a remote server restarts). */
  readonly instance: string | undefined;
  call(request: CallRequest, options: RpcOptions): Promise<CallReply>;
  stream<T>(request: CallRequest, options: StreamRpcOptions): AsyncIterableIterator<T>;
  /** Frees handles (and a session's state); fire and forget. */
  release(handles: readonly number[], session: string | undefined, instance: string | undefined): void;
}

/** Where targets come from: the WorkerPool in managed mode, the Balancer in remote mode. */
export type Targets<T extends Target> = Pick<
  ProcessPool<T>,
  'start' | 'acquire' | 'run' | 'worker' | 'pinSession' | 'unpinSession' | 'close'
>;

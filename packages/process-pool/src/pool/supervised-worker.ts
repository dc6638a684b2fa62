// What the pool needs from a worker it supervises, beyond the port's PoolWorker,
// and how a worker tells its pool whether it can take calls.

import type { PoolWorker, WorkerExit } from '@snakebridge/core';

/** A health reading, from a ping. */
export interface WorkerHealth {
  /** Resident memory of the Python process. */
  readonly rssBytes?: number | undefined;
  /** Live handles it holds: a worker holding state is not recycled for age or call count. */
  readonly handles?: number | undefined;
}

/**
 * A worker process as the pool sees it. The stdio adapter's StdioWorker and
 * the gRPC adapter's managed server both implement it.
 */
export interface SupervisedWorker extends PoolWorker {
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<WorkerExit>;
  /** Health check: resolves with a reading, rejects if no answer within `timeoutMs`. */
  ping(timeoutMs: number): Promise<WorkerHealth>;
  /** Lets running work finish (up to `graceMs`), then stops the process. */
  stop(graceMs: number): Promise<void>;
  /** Ends the process now; calls in flight fail with WorkerCrashedError carrying `reason`. */
  kill(reason: string): void;
}

/**
 * How a worker reports to its pool: that its process exists while it starts,
 * then, for its whole life, whether it can take calls. A worker that never
 * calls the availability hooks is routed to until it exits, as before.
 */
export interface StartHooks {
  /** The process exists (before its handshake): the pool emits a `spawn` event. */
  spawned(pid: number | undefined): void;
  /**
   * It can take no new call for now (a cancelled call has not confirmed its
   * stop, and may be stuck in C code): the pool routes new calls to other
   * workers until `resumed()`, and keeps those that must run on it waiting.
   */
  paused(reason: string): void;
  /** It can take calls again. */
  resumed(): void;
  /**
   * It can never take a call again (it broke the protocol, a pipe broke, it is
   * being killed, it exited): the pool stops routing to it and starts its
   * replacement now, without waiting for its exit to be processed.
   */
  failed(reason: string): void;
}

/** Starts a worker and resolves once it is ready for calls; rejects with WorkerStartError. */
export type WorkerFactory<W extends SupervisedWorker> = (workerId: string, hooks: StartHooks) => Promise<W>;

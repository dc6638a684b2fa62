// The tallies behind InvokerStats, kept the same way by the invokers that
// run calls in processes (stdio, gRPC).

import type { HandleRef } from '../handles/handle-ref.js';
import type { InvokerStats } from './invoker.js';

/**
 * Counts calls and streams through their life, and the handles the caller
 * holds. A call is `started()`, then `succeeded()` or `failed()`, and always
 * `finished()`: a stream its consumer left early is finished without either.
 */
export class CallCounts {
  #inFlight = 0;
  #started = 0;
  #succeeded = 0;
  #failed = 0;
  #liveHandles = 0;

  started(): void {
    this.#started += 1;
    this.#inFlight += 1;
  }

  succeeded(): void {
    this.#succeeded += 1;
  }

  failed(): void {
    this.#failed += 1;
  }

  finished(): void {
    this.#inFlight -= 1;
  }

  /** A handle reached the caller. */
  handleMade(): void {
    this.#liveHandles += 1;
  }

  /** The caller released handles. */
  handlesReleased(count: number): void {
    this.#liveHandles = Math.max(0, this.#liveHandles - count);
  }

  stats(): InvokerStats {
    return {
      inFlight: this.#inFlight,
      callsStarted: this.#started,
      callsSucceeded: this.#succeeded,
      callsFailed: this.#failed,
      liveHandles: this.#liveHandles,
    };
  }
}

/** The ids of `handles` by the worker (or endpoint) holding them; handles without an owner are left out. */
export function handleIdsByOwner(handles: readonly HandleRef[]): Map<string, number[]> {
  const byOwner = new Map<string, number[]>();
  for (const handle of handles) {
    if (handle.owner === undefined) continue;
    const ids = byOwner.get(handle.owner);
    if (ids === undefined) byOwner.set(handle.owner, [handle.id]);
    else ids.push(handle.id);
  }
  return byOwner;
}

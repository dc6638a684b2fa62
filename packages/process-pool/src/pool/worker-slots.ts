// The workers a pool has up, each with what the pool tracks of it, and the
// questions routing asks of them: which can take a call, which is least
// loaded, how many count towards `max`. It also counts the leases out, so
// drain() can wait for the last one to come back instead of polling.

import type { WorkerState } from '@snakebridge/core';
import type { SupervisedWorker } from './supervised-worker.js';

/** One worker that is up, and what the pool knows of it. */
export interface Slot<W extends SupervisedWorker> {
  readonly worker: W;
  state: WorkerState;
  /** Calls running on it now (and slots taken on its behalf, such as by pinSession()). */
  leases: number;
  served: number;
  sessions: number;
  handles: number;
  rssBytes: number | undefined;
  missedPings: number;
  pinging: boolean;
  /** Why the pool is stopping it, if it is; an exit without one is a crash. */
  stopReason: string | undefined;
  /** Why it takes no new call for now (a cancelled call has not stopped), if it does not. */
  paused: string | undefined;
  /** Why it can never take a call again (it reported itself failed), if it cannot: it is being replaced. */
  failed: string | undefined;
  readonly restarts: number;
  readonly startedAt: number;
  lastActive: number;
}

/** A slot for a worker that has just become ready; `restarts` counts the workers its slot went through before it. */
export function readySlot<W extends SupervisedWorker>(worker: W, restarts: number): Slot<W> {
  const now = Date.now();
  return {
    worker,
    state: 'ready',
    leases: 0,
    served: 0,
    sessions: 0,
    handles: 0,
    rssBytes: undefined,
    missedPings: 0,
    pinging: false,
    stopReason: undefined,
    paused: undefined,
    failed: undefined,
    restarts,
    startedAt: now,
    lastActive: now,
  };
}

/** A worker that can take a call now: ready, and not waiting for a cancelled call to stop. */
export function takesCalls(slot: { readonly state: WorkerState; readonly paused: string | undefined }): boolean {
  return slot.state === 'ready' && slot.paused === undefined;
}

/** The pool's live workers, by id, and the workers being started. */
export class WorkerSlots<W extends SupervisedWorker> implements Iterable<Slot<W>> {
  readonly #slots = new Map<string, Slot<W>>();
  readonly #maxConcurrency: number;
  /** Called with nothing once no live worker holds a lease; see whenUnleased(). */
  #unleased: (() => void)[] = [];
  /** Workers being started: they count towards `max` and towards capacity, but are not slots yet. */
  starting = 0;

  /** @param maxConcurrency calls one worker runs at once (`pool.maxConcurrency`). */
  constructor(maxConcurrency: number) {
    this.#maxConcurrency = maxConcurrency;
  }

  get size(): number {
    return this.#slots.size;
  }

  [Symbol.iterator](): Iterator<Slot<W>> {
    return this.#slots.values();
  }

  get(id: string): Slot<W> | undefined {
    return this.#slots.get(id);
  }

  add(slot: Slot<W>): void {
    this.#slots.set(slot.worker.id, slot);
  }

  /** Forgets a worker that exited; the leases it held no longer keep drain() waiting. */
  delete(slot: Slot<W>): void {
    this.#slots.delete(slot.worker.id);
    this.#wakeIfUnleased();
  }

  /** Workers that can take a call now (ready, and not paused). */
  ready(): Slot<W>[] {
    return [...this.#slots.values()].filter(takesCalls);
  }

  /** Workers that count towards `max`: those starting, and those up that have not failed. */
  occupied(): number {
    let count = this.starting;
    for (const slot of this.#slots.values()) if (slot.failed === undefined) count += 1;
    return count;
  }

  /** Workers that are, or will soon be, able to take calls (a paused one may never be again). */
  capacity(): number {
    let count = this.starting;
    for (const slot of this.#slots.values()) if (takesCalls(slot)) count += 1;
    return count;
  }

  /** Calls running on all workers. */
  leases(): number {
    let count = 0;
    for (const slot of this.#slots.values()) count += slot.leases;
    return count;
  }

  /** True when no worker that can take calls is free of them. */
  allBusy(): boolean {
    for (const slot of this.#slots.values()) if (takesCalls(slot) && slot.leases === 0) return false;
    return true;
  }

  /** The ready worker with the fewest sessions, then the fewest calls running. */
  fewestSessions(): Slot<W> | undefined {
    return this.ready().sort((a, b) => a.sessions - b.sessions || a.leases - b.leases)[0];
  }

  /** Takes a slot on the least-loaded worker that can take calls (or on `workerId`), if one is free now. */
  take(workerId: string | undefined): Slot<W> | undefined {
    const slot = workerId === undefined ? this.#leastLoaded() : this.#slots.get(workerId);
    if (slot === undefined || slot.leases >= this.#maxConcurrency || slot.paused !== undefined) return undefined;
    // A call that must run on a worker being recycled may still: its session or handle lives there.
    if (slot.state !== 'ready' && !(workerId !== undefined && slot.state === 'draining')) return undefined;
    slot.leases += 1;
    slot.lastActive = Date.now();
    return slot;
  }

  /** Gives a taken slot back. */
  giveBack(slot: Slot<W>): void {
    slot.leases -= 1;
    slot.lastActive = Date.now();
    this.#wakeIfUnleased();
  }

  /**
   * Resolves once no live worker holds a lease (the last one came back, or
   * the workers holding them exited), or after `timeoutMs`, whichever is first.
   */
  whenUnleased(timeoutMs: number): Promise<void> {
    if (!this.#leased() || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#unleased = this.#unleased.filter((waiter) => waiter !== done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#unleased.push(done);
    });
  }

  #leastLoaded(): Slot<W> | undefined {
    let best: Slot<W> | undefined;
    for (const slot of this.#slots.values()) {
      if (!takesCalls(slot) || slot.leases >= this.#maxConcurrency) continue;
      if (best === undefined || slot.leases < best.leases) best = slot;
    }
    return best;
  }

  #leased(): boolean {
    for (const slot of this.#slots.values()) if (slot.leases > 0) return true;
    return false;
  }

  #wakeIfUnleased(): void {
    if (this.#unleased.length === 0 || this.#leased()) return;
    for (const wake of [...this.#unleased]) wake();
  }
}

// The calls waiting for a worker: first come, first served, bounded, each
// giving up after its own timeout or when its signal aborts.

import { CancelledError, PoolExhaustedError } from '@snakebridge/core';

/** What a waiting call asks for, and how long it may wait. */
export interface WaitRequest {
  /** Only this worker will do; such a call is not bounded by the queue size (its worker is busy, not the pool). */
  readonly workerId?: string | undefined;
  /** Longest wait; defaults to the queue's. 0 waits for ever. */
  readonly timeoutMs?: number | undefined;
  /** Aborting it rejects the wait with CancelledError. */
  readonly signal?: AbortSignal | undefined;
  /** The call, as the CancelledError names it. */
  readonly description?: string | undefined;
}

/** How a WaitingQueue is bounded and what its errors say. */
export interface WaitingQueueOptions {
  /** Shown in messages: `the stdio pool`. */
  readonly name: string;
  /** Calls for any worker that may wait at once (`pool.queueSize`). */
  readonly capacity: number;
  /** Default longest wait (`pool.acquireTimeoutMs`); 0 waits for ever. */
  readonly timeoutMs: number;
  /** How many workers are up, for the message of a full queue. */
  readonly workers: () => number;
}

interface Waiter<T> {
  readonly workerId: string | undefined;
  readonly resolve: (served: T) => void;
  readonly reject: (error: Error) => void;
  cleanup: () => void;
  /** Its place in the queue's array (kept up to date when the array is compacted). */
  index: number;
}

/**
 * A bounded FIFO of calls waiting for a worker; `T` is what serving one hands it (a taken slot).
 *
 * Built for a `Promise.all` of tens of thousands of calls: adding, serving the
 * first and removing any one are O(1) (a removed waiter leaves a hole that is
 * skipped, and holes are compacted away now and then), and counts are kept,
 * not recounted.
 */
export class WaitingQueue<T> {
  readonly #options: WaitingQueueOptions;
  /** Waiters in arrival order from #head on; undefined where one has left. */
  #waiters: (Waiter<T> | undefined)[] = [];
  #head = 0;
  #size = 0;
  /** Waiters that only one worker will do. */
  #pinned = 0;
  /** serve() is walking the array: compaction waits until it is done. */
  #serving = false;

  constructor(options: WaitingQueueOptions) {
    this.#options = options;
  }

  /** Calls waiting. */
  get length(): number {
    return this.#size;
  }

  /** Calls waiting for any worker, rather than for one in particular: what more workers would serve. */
  unpinned(): number {
    return this.#size - this.#pinned;
  }

  /** PoolExhaustedError when `request` may not wait because the queue is full; undefined when it may. */
  refusal(request: WaitRequest): PoolExhaustedError | undefined {
    if (request.workerId !== undefined || this.#size < this.#options.capacity) return undefined;
    return new PoolExhaustedError(
      `All ${this.#options.workers()} workers of the ${this.#options.name} are busy and ${this.#size} calls are already waiting (pool.queueSize).`,
      this.#size,
    );
  }

  /**
   * Waits at the back of the queue until serve() hands it something; rejects
   * with PoolExhaustedError after the timeout, CancelledError on abort.
   */
  wait(request: WaitRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        workerId: request.workerId,
        resolve,
        reject,
        cleanup: () => {},
        index: this.#waiters.length,
      };
      const timeoutMs = request.timeoutMs ?? this.#options.timeoutMs;
      const timer = timeoutMs > 0 ? setTimeout(() => this.#timedOut(waiter, timeoutMs), timeoutMs) : undefined;
      const signal = request.signal;
      const onAbort =
        signal === undefined
          ? undefined
          : (): void => {
              this.#remove(waiter);
              reject(new CancelledError(request.description ?? 'acquire', signal.reason));
            };
      if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        clearTimeout(timer);
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      };
      this.#waiters.push(waiter);
      this.#size += 1;
      if (waiter.workerId !== undefined) this.#pinned += 1;
    });
  }

  /**
   * Serves waiting calls in order, each with what `take` gives for the worker
   * it asks for; one `take` has nothing for stays, and later ones may still be
   * served. Once no worker has a slot for any call, only pinned calls are looked at.
   */
  serve(take: (workerId: string | undefined) => T | undefined): void {
    this.#serving = true;
    try {
      this.#serveInOrder(take);
    } finally {
      this.#serving = false;
      this.#compact();
    }
  }

  #serveInOrder(take: (workerId: string | undefined) => T | undefined): void {
    let anyFull = false;
    for (let i = this.#head; i < this.#waiters.length && this.#size > 0; i++) {
      const waiter = this.#waiters[i];
      if (waiter === undefined || (anyFull && waiter.workerId === undefined)) continue;
      const served = take(waiter.workerId);
      if (served === undefined) {
        if (waiter.workerId === undefined) anyFull = true;
        // Nothing more can be served: no free slot for any call, and no call for a particular worker.
        if (anyFull && this.#pinned === 0) break;
        continue;
      }
      this.#remove(waiter);
      waiter.resolve(served);
    }
  }

  /** Rejects the waiting calls `which` picks (by the worker they wait for), or all of them. */
  reject(error: () => Error, which: (workerId: string | undefined) => boolean = () => true): void {
    for (const waiter of this.#waiters.slice(this.#head)) {
      if (waiter === undefined || !which(waiter.workerId)) continue;
      this.#remove(waiter);
      waiter.reject(error());
    }
  }

  #timedOut(waiter: Waiter<T>, timeoutMs: number): void {
    this.#remove(waiter);
    waiter.reject(
      new PoolExhaustedError(
        `No worker of the ${this.#options.name} was free within ${timeoutMs} ms (pool.acquireTimeoutMs).`,
        this.#size,
      ),
    );
  }

  #remove(waiter: Waiter<T>): void {
    waiter.cleanup();
    if (this.#waiters[waiter.index] !== waiter) return;
    this.#waiters[waiter.index] = undefined;
    this.#size -= 1;
    if (waiter.workerId !== undefined) this.#pinned -= 1;
    while (this.#head < this.#waiters.length && this.#waiters[this.#head] === undefined) this.#head += 1;
    this.#compact();
  }

  /** Drops the holes once they are most of the array, so it does not grow without end. */
  #compact(): void {
    if (this.#serving) return;
    if (this.#size === 0) {
      this.#waiters = [];
      this.#head = 0;
      return;
    }
    if (this.#waiters.length < 1024 || this.#size * 2 > this.#waiters.length) return;
    const live = this.#waiters.filter((waiter): waiter is Waiter<T> => waiter !== undefined);
    live.forEach((waiter, index) => {
      waiter.index = index;
    });
    this.#waiters = live;
    this.#head = 0;
  }
}

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
}

/** A bounded FIFO of calls waiting for a worker; `T` is what serving one hands it (a taken slot). */
export class WaitingQueue<T> {
  readonly #options: WaitingQueueOptions;
  readonly #waiters: Waiter<T>[] = [];

  constructor(options: WaitingQueueOptions) {
    this.#options = options;
  }

  /** Calls waiting. */
  get length(): number {
    return this.#waiters.length;
  }

  /** Calls waiting for any worker, rather than for one in particular: what more workers would serve. */
  unpinned(): number {
    return this.#waiters.filter((waiter) => waiter.workerId === undefined).length;
  }

  /** PoolExhaustedError when `request` may not wait because the queue is full; undefined when it may. */
  refusal(request: WaitRequest): PoolExhaustedError | undefined {
    if (request.workerId !== undefined || this.#waiters.length < this.#options.capacity) return undefined;
    return new PoolExhaustedError(
      `All ${this.#options.workers()} workers of the ${this.#options.name} are busy and ${this.#waiters.length} calls are already waiting (pool.queueSize).`,
      this.#waiters.length,
    );
  }

  /**
   * Waits at the back of the queue until serve() hands it something; rejects
   * with PoolExhaustedError after the timeout, CancelledError on abort.
   */
  wait(request: WaitRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { workerId: request.workerId, resolve, reject, cleanup: () => {} };
      const timeoutMs = request.timeoutMs ?? this.#options.timeoutMs;
      const timer = timeoutMs > 0 ? setTimeout(() => this.#timedOut(waiter, timeoutMs), timeoutMs) : undefined;
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(new CancelledError(request.description ?? 'acquire', request.signal?.reason));
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      waiter.cleanup = () => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Serves waiting calls in order, each with what `take` gives for the worker
   * it asks for; one `take` has nothing for stays, and later ones may still be served.
   */
  serve(take: (workerId: string | undefined) => T | undefined): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const waiter = this.#waiters[i] as Waiter<T>;
      const served = take(waiter.workerId);
      if (served === undefined) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      waiter.cleanup();
      waiter.resolve(served);
    }
  }

  /** Rejects the waiting calls `which` picks (by the worker they wait for), or all of them. */
  reject(error: () => Error, which: (workerId: string | undefined) => boolean = () => true): void {
    for (const waiter of [...this.#waiters]) {
      if (!which(waiter.workerId)) continue;
      this.#remove(waiter);
      waiter.reject(error());
    }
  }

  #timedOut(waiter: Waiter<T>, timeoutMs: number): void {
    this.#remove(waiter);
    waiter.reject(
      new PoolExhaustedError(
        `No worker of the ${this.#options.name} was free within ${timeoutMs} ms (pool.acquireTimeoutMs).`,
        this.#waiters.length,
      ),
    );
  }

  #remove(waiter: Waiter<T>): void {
    const index = this.#waiters.indexOf(waiter);
    if (index !== -1) this.#waiters.splice(index, 1);
    waiter.cleanup();
  }
}

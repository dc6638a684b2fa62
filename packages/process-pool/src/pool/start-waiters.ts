// The start() calls still waiting for their workers: each resolves once
// enough workers are ready, and all of them reject on the first failure, so a
// broken environment shows at once instead of as a hang.

interface StartWaiter {
  readonly count: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** start() calls waiting for a number of ready workers. */
export class StartWaiters {
  readonly #waiters: StartWaiter[] = [];

  /** Resolves once settle() sees `count` ready workers; rejects with the first failure it is given. */
  wait(count: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ count, resolve, reject });
    });
  }

  /** Resolves the calls that `ready` workers satisfy; with a failure, rejects them all instead. */
  settle(ready: number, failure: Error | undefined): void {
    for (const waiter of [...this.#waiters]) {
      if (failure === undefined && ready < waiter.count) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure);
    }
  }
}

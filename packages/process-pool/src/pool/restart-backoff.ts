// How long the pool waits before starting a worker again after workers have
// been failing: exponentially longer with each failure in a row, capped, with
// jitter, so a broken environment is not hammered and many pools do not
// restart in step. A worker that starts cleanly ends the run of failures.

import type { RestartSettings } from '@snakebridge/core';

/** The run of consecutive worker failures, and the waits it calls for. */
export class RestartBackoff {
  readonly #settings: Pick<RestartSettings, 'backoffMs' | 'maxBackoffMs'>;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(settings: Pick<RestartSettings, 'backoffMs' | 'maxBackoffMs'>) {
    this.#settings = settings;
  }

  /** Failures in a row (crashes, failed starts) since a worker last started cleanly. */
  get failures(): number {
    return this.#failures;
  }

  /** True while workers are failing: they should be started one at a time. */
  get failing(): boolean {
    return this.#failures > 0;
  }

  /** One more failure in a row. */
  failed(): void {
    this.#failures += 1;
  }

  /** A worker started cleanly (or a probe starts afresh): the next wait is none. */
  reset(): void {
    this.#failures = 0;
  }

  /** The wait before attempt `attempt` (1 for the first retry): `backoffMs` doubled each time, capped, jittered. */
  delayFor(attempt: number): number {
    const { backoffMs, maxBackoffMs } = this.#settings;
    const base = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.5 + Math.random() * 0.5)); // jitter: spread restarts of many pools
  }

  /** The wait owed before the next start: none after no failure. */
  wait(): number {
    return this.#failures === 0 ? 0 : this.delayFor(this.#failures);
  }

  /**
   * Runs `start` once the wait owed now has passed: at once (not on a timer)
   * when none is owed. While one is scheduled, further calls are ignored.
   */
  schedule(start: () => void): void {
    if (this.#timer !== undefined) return;
    const wait = this.wait();
    if (wait === 0) {
      start();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      start();
    }, wait);
    this.#timer.unref();
  }

  /** Forgets a scheduled start. */
  stop(): void {
    clearTimeout(this.#timer);
  }
}

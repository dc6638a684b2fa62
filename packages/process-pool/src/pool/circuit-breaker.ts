// The circuit breaker: counts worker failures within a sliding window and,
// past `maxRestarts`, has the pool refuse calls at once (CircuitOpenError)
// instead of letting them wait on workers that keep failing. After
// `probeAfterMs` it lets one probe worker start: if that one starts cleanly
// the circuit closes, if not it opens again.

import { CircuitOpenError, type Logger, type RestartSettings } from '@snakebridge/core';
import type { PoolEvents } from './pool-events.js';

/** What a CircuitBreaker is built from. */
export interface CircuitBreakerOptions {
  readonly settings: Pick<RestartSettings, 'maxRestarts' | 'windowMs' | 'probeAfterMs'>;
  /** Shown in messages: `the stdio pool`. */
  readonly name: string;
  readonly logger: Logger;
  /** Where `circuit-open` and `circuit-close` go. */
  readonly events: PoolEvents;
  /** Called `probeAfterMs` after the circuit opened: the pool tries a probe worker (see halfOpen()). */
  readonly probe: () => void;
}

/** Failures in a window, and the open → probe → closed cycle they drive. */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  /** Times of recent failures, oldest first. */
  #failures: number[] = [];
  #retryAt = 0;
  #probeTimer: NodeJS.Timeout | undefined;
  /** A probe worker is starting while the circuit is half-open. */
  #probing = false;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  /** Records a failure now; true when that makes too many in the window: the circuit must open. */
  recordFailure(): boolean {
    const now = Date.now();
    const { maxRestarts, windowMs } = this.#options.settings;
    this.#failures = [...this.#failures.filter((time) => now - time < windowMs), now];
    return this.#failures.length > maxRestarts;
  }

  /** Records a worker that failed to start; true when the circuit must open: too many failures, or it was the probe. */
  recordStartFailure(): boolean {
    if (!this.#probing) return this.recordFailure();
    this.#probing = false;
    return true;
  }

  /** Opens the circuit: says so, and calls `probe` after `probeAfterMs`. */
  open(): void {
    const { windowMs, probeAfterMs } = this.#options.settings;
    this.#retryAt = Date.now() + probeAfterMs;
    this.#options.logger.error(
      `the ${this.#options.name} opened its circuit after ${this.#failures.length} failures within ${windowMs} ms; ` +
        `calls are refused until a probe worker starts (in ${probeAfterMs} ms)`,
    );
    this.#options.events.emit({ type: 'circuit-open', failures: this.#failures.length, retryAt: this.#retryAt });
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => this.#options.probe(), probeAfterMs);
    this.#probeTimer.unref();
  }

  /**
   * Half-open: forgets past failures and runs `launchProbe`, during which a
   * failed start opens the circuit again (see recordStartFailure()).
   */
  async halfOpen(launchProbe: () => Promise<boolean>): Promise<boolean> {
    this.#failures = [];
    this.#probing = true;
    try {
      return await launchProbe();
    } finally {
      this.#probing = false;
    }
  }

  /** Closes the circuit after a probe worker started cleanly. */
  close(): void {
    this.#options.logger.info(`the ${this.#options.name} closed its circuit: a probe worker started cleanly`);
    this.#options.events.emit({ type: 'circuit-close' });
  }

  /** The error calls get while the circuit is open. */
  refusal(lastFailure: Error | undefined): CircuitOpenError {
    return new CircuitOpenError(
      `Workers of the ${this.#options.name} failed ${this.#failures.length} times within ${this.#options.settings.windowMs} ms` +
        `${lastFailure ? ` (last: ${lastFailure.message})` : ''}.`,
      this.#retryAt,
      { cause: lastFailure },
    );
  }

  /** Forgets a scheduled probe: the pool is closing. */
  stop(): void {
    clearTimeout(this.#probeTimer);
  }
}

// Who hears a pool's lifecycle events. A listener that throws is logged, not
// propagated: it must not break the pool in the middle of a restart.

import type { Logger, PoolEvent } from '@snakebridge/core';

/** The listeners of one pool, and how its parts tell them what happened. */
export class PoolEvents {
  readonly #listeners = new Set<(event: PoolEvent) => void>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: (event: PoolEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: PoolEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.warn(`a pool event listener threw: ${String(error)}`);
      }
    }
  }
}

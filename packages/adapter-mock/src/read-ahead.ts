// Runs a stream's source ahead of its consumer by at most `window` items, as a
// Python worker runs a generator ahead by the credit its window grants: code in
// the generator runs before the consumer asks for its items, never further ahead.

/** What one pull from the source gave: an item (already copied), the end, or an error. */
type Outcome<T> =
  | { readonly kind: 'item'; readonly value: T }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Pulls items from `source` one at a time, up to `window` of them ahead of
 * `next()`. Each item is passed through `copy` as it is produced, as a worker
 * serializes an item when the generator yields it.
 */
export class ReadAhead<T> {
  readonly #source: AsyncIterator<unknown>;
  readonly #window: number;
  readonly #copy: (item: unknown) => T;
  /** Outcomes produced and not consumed yet, oldest first. */
  readonly #ready: Outcome<T>[] = [];
  /** Wakes a `next()` waiting for an outcome. */
  #wake: (() => void) | undefined;
  /** A pull from the source is in progress (they are made one at a time). */
  #pulling = false;
  /** The source ended, failed or was closed: nothing more is pulled. */
  #finished = false;
  #closed = false;

  constructor(source: AsyncIterator<unknown>, window: number, copy: (item: unknown) => T) {
    this.#source = source;
    this.#window = Math.max(1, window);
    this.#copy = copy;
  }

  /** The next item, waiting for the source if none is ready. */
  async next(): Promise<IteratorResult<T, undefined>> {
    this.#pull();
    while (this.#ready.length === 0) {
      if (this.#finished) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const outcome = this.#ready.shift() as Outcome<T>;
    this.#pull(); // a place in the window came free
    if (outcome.kind === 'error') throw outcome.error;
    return outcome.kind === 'end' ? { done: true, value: undefined } : { done: false, value: outcome.value };
  }

  /**
   * Stops pulling and closes the source. Not awaited: the source's `return()`
   * waits behind a `next()` still running (an async generator sleeping
   * between items), which must not delay the caller.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#finished = true;
    this.#ready.length = 0;
    const closing = (async () => this.#source.return?.())(); // a synchronous throw becomes a rejection
    closing.catch(() => undefined);
    this.#notify();
  }

  #pull(): void {
    if (this.#pulling || this.#finished || this.#ready.length >= this.#window) return;
    this.#pulling = true;
    void this.#pullOne();
  }

  async #pullOne(): Promise<void> {
    let outcome: Outcome<T>;
    try {
      const result = await this.#source.next();
      outcome = result.done ? { kind: 'end' } : { kind: 'item', value: this.#copy(result.value) };
    } catch (error) {
      outcome = { kind: 'error', error };
    }
    this.#pulling = false;
    if (this.#closed) return; // closed while the item was produced: nobody wants it
    if (outcome.kind !== 'item') this.#finished = true;
    this.#ready.push(outcome);
    this.#notify();
    this.#pull();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

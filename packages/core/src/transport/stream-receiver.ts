// The host end of a streamed call: buffers the items a worker sends, hands
// them to the consumer one at a time, and grants credit as they are consumed,
// so the generator in Python never runs more than `window` items ahead.

/** What the receiver needs from the worker connection. */
export interface StreamChannel {
  /** Grants the worker `count` more items. */
  credit(count: number): void;
  /** Asks the worker to close the generator. */
  cancel(): void;
  /** Turns an item's bytes (and the shared-memory segments it names) into a value; may throw a SerializationError. */
  decode(body: Uint8Array, segments?: readonly Uint8Array[]): unknown;
}

type Waiting<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

/** A streamed call's items, as an async iterator that grants credit as it is consumed. */
export class StreamReceiver<T> implements AsyncIterableIterator<T> {
  readonly #channel: StreamChannel;
  readonly #window: number;
  readonly #items: Uint8Array[] = [];
  /** The segments of the buffered items that came with some (large arrays through shared memory). */
  readonly #segments = new Map<Uint8Array, readonly Uint8Array[]>();
  /** Consumers waiting for an item, in order: `next()` may be called again before it settles. */
  readonly #waiting: Waiting<T>[] = [];
  #consumed = 0;
  #ended = false;
  #error: unknown;
  #done = false;
  /** Called once when the stream is over for the consumer, however it ended. */
  onDone: (() => void) | undefined;

  constructor(channel: StreamChannel, window: number) {
    this.#channel = channel;
    this.#window = window;
  }

  // --- from the worker connection ---------------------------------------------------

  push(body: Uint8Array, segments?: readonly Uint8Array[]): void {
    if (this.#done) return;
    const waiting = this.#waiting.shift();
    if (waiting !== undefined) {
      this.#deliver(body, segments, waiting);
      return;
    }
    this.#items.push(body);
    if (segments !== undefined) this.#segments.set(body, segments);
  }

  end(): void {
    this.#ended = true;
    this.#settleWaiting();
  }

  fail(error: unknown): void {
    if (this.#error === undefined) this.#error = error;
    this.#ended = true;
    this.#settleWaiting();
  }

  /** True while the worker may still send items. */
  get open(): boolean {
    return !this.#ended;
  }

  // --- to the consumer ------------------------------------------------------------------

  next(): Promise<IteratorResult<T>> {
    const body = this.#items.shift();
    if (body !== undefined) {
      const segments = this.#segments.get(body);
      if (segments !== undefined) this.#segments.delete(body);
      return new Promise((resolve, reject) => this.#deliver(body, segments, { resolve, reject }));
    }
    if (this.#ended) return this.#finish();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
    });
  }

  /** The consumer stopped early (`break`): close the generator in Python. */
  async return(): Promise<IteratorResult<T>> {
    if (!this.#ended) {
      this.#ended = true;
      this.#channel.cancel();
    }
    this.#items.length = 0;
    this.#segments.clear();
    this.#markDone();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #deliver(body: Uint8Array, segments: readonly Uint8Array[] | undefined, waiting: Waiting<T>): void {
    let value: T;
    try {
      value = this.#channel.decode(body, segments) as T;
    } catch (error) {
      // An undecodable item ends the stream for the consumer, who is told once;
      // the generator is closed and items already received are dropped.
      this.#ended = true;
      this.#items.length = 0;
      this.#segments.clear();
      this.#channel.cancel();
      waiting.reject(error);
      this.#settleWaiting();
      this.#markDone();
      return;
    }
    this.#consumed += 1;
    // Grant credit in batches of half a window: fewer frames, the generator never starves.
    if (!this.#ended && this.#consumed >= Math.max(1, this.#window >> 1)) {
      this.#channel.credit(this.#consumed);
      this.#consumed = 0;
    }
    waiting.resolve({ done: false, value });
  }

  /** The stream ended: the first waiting consumer gets its error, if any, the others the end. */
  #settleWaiting(): void {
    if (this.#items.length > 0) return;
    for (const waiting of this.#waiting.splice(0)) this.#finish().then(waiting.resolve, waiting.reject);
  }

  #finish(): Promise<IteratorResult<T>> {
    this.#markDone();
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined; // thrown once; the next call just says done
      return Promise.reject(error);
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  #markDone(): void {
    if (this.#done) return;
    this.#done = true;
    this.onDone?.();
  }
}

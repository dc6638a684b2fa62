// The host end of a Stream RPC: buffers the items the server sends, hands
// them to the consumer one at a time, and grants credit as they are consumed,
// so the generator in Python never runs more than `window` items ahead.
// Ending early, a deadline or an abort cancels the RPC, which closes the
// generator in Python.

import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { CancelledError, errorFromPayload, type PythonErrorPayload, TimeoutError } from '@snakebridge/core';
import type { CallRequest, StreamReply, StreamRequest } from './proto.js';

/** How a StreamCall runs: its credit window, deadline, signal, and how items and errors are decoded. */
export interface StreamCallOptions {
  /** Most items the server may send ahead of the consumer. */
  readonly window: number;
  /** The call, as error messages name it. */
  readonly description: string;
  /** 0: no deadline. It covers the whole stream, until the consumer is done with it. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Turns an item's bytes into a value (may throw a SerializationError). */
  readonly decode: (body: Uint8Array) => unknown;
  /** The typed error for a failed RPC (may wait to learn whether the server process died). */
  readonly mapError: (error: ServiceError) => Promise<Error>;
  /** Called once when the RPC is over, however it ended. */
  readonly onSettled: () => void;
}

type Waiting<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

/** A Stream RPC's items, as an async iterator that grants credit as it is consumed. */
export class StreamCall<T> implements AsyncIterableIterator<T> {
  readonly #call: ClientDuplexStream<StreamRequest, StreamReply>;
  readonly #options: StreamCallOptions;
  readonly #items: Uint8Array[] = [];
  /** Consumers waiting for an item, in order: `next()` may be called again before it settles. */
  readonly #waiting: Waiting<T>[] = [];
  #consumed = 0;
  /** No more items will be taken. */
  #ended = false;
  /** A failed RPC's status is being turned into a typed error: the consumer waits for it. */
  #mapping = false;
  /** The RPC is over, or cancelled by us. */
  #settled = false;
  /** The consumer has had its last result (done, or the error). */
  #consumerDone = false;
  #error: unknown;
  #timer: NodeJS.Timeout | undefined;
  #onAbort: (() => void) | undefined;

  constructor(call: ClientDuplexStream<StreamRequest, StreamReply>, request: CallRequest, options: StreamCallOptions) {
    this.#call = call;
    this.#options = options;
    call.on('data', (reply: StreamReply) => this.#onReply(reply));
    call.on('error', (error: ServiceError) => {
      if (this.#settled) return; // cancelled by us: the consumer has its answer already
      this.#ended = true;
      this.#mapping = true;
      this.#settle();
      void options.mapError(error).then((typed) => {
        this.#mapping = false;
        this.fail(typed);
      });
    });
    call.on('end', () => this.#finish(undefined));
    const { timeoutMs, signal } = options;
    if (timeoutMs > 0) {
      this.#timer = setTimeout(() => this.fail(new TimeoutError(options.description, timeoutMs)), timeoutMs);
    }
    if (signal !== undefined) {
      this.#onAbort = () => this.fail(new CancelledError(options.description, signal.reason));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    call.write({ call: request, window: options.window });
  }

  /** Ends the stream with `error`, after the items already received, and cancels the RPC. */
  fail(error: unknown): void {
    if (!this.#consumerDone) this.#error ??= error;
    this.#finish(undefined);
    this.#cancel();
  }

  // --- from the server -----------------------------------------------------------------------

  #onReply(reply: StreamReply): void {
    if (this.#ended) return;
    if (reply.message === 'error' && reply.error !== undefined) {
      const payload = JSON.parse(Buffer.from(reply.error).toString('utf8')) as PythonErrorPayload;
      this.#finish(errorFromPayload(payload, this.#options.description));
      return;
    }
    if (reply.item === undefined) return;
    const waiting = this.#waiting.shift();
    if (waiting !== undefined) this.#deliver(reply.item, waiting);
    else this.#items.push(reply.item);
  }

  /** No more items: the RPC's bookkeeping is settled, and a waiting consumer gets the end. */
  #finish(error: unknown): void {
    if (error !== undefined && !this.#consumerDone) this.#error ??= error;
    this.#ended = true;
    this.#settle();
    if (this.#items.length > 0 || this.#mapping) return;
    // The first waiting consumer gets the error, if any; the others the end.
    for (const waiting of this.#waiting.splice(0)) this.#final().then(waiting.resolve, waiting.reject);
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#options.onSettled();
  }

  // --- to the consumer ------------------------------------------------------------------------

  next(): Promise<IteratorResult<T>> {
    const body = this.#items.shift();
    if (body !== undefined) return new Promise((resolve, reject) => this.#deliver(body, { resolve, reject }));
    if (this.#ended && !this.#mapping) return this.#final();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
    });
  }

  /** The consumer stopped early (`break`): cancel the RPC, which closes the generator in Python. */
  async return(): Promise<IteratorResult<T>> {
    this.#consumerDone = true;
    this.#items.length = 0;
    this.#error = undefined;
    this.#finish(undefined);
    this.#cancel();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #deliver(body: Uint8Array, waiting: Waiting<T>): void {
    let value: T;
    try {
      value = this.#options.decode(body) as T;
    } catch (error) {
      // An undecodable item ends the stream for the consumer; the generator is closed.
      this.#consumerDone = true;
      this.#items.length = 0;
      this.fail(error);
      waiting.reject(error);
      return;
    }
    this.#consumed += 1;
    // Credit in batches of half a window: fewer messages, and the generator never starves.
    if (!this.#ended && this.#consumed >= Math.max(1, this.#options.window >> 1)) {
      this.#call.write({ credit: this.#consumed });
      this.#consumed = 0;
    }
    waiting.resolve({ done: false, value });
  }

  #final(): Promise<IteratorResult<T>> {
    this.#consumerDone = true;
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined; // thrown once; the next call just says done
      return Promise.reject(error);
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  #cancel(): void {
    if (!this.#call.destroyed) this.#call.cancel();
  }
}

// The result of a call made through a proxy, from the moment the call is made
// (before it is even sent) to long after it came back: what its proxy (a
// PyResult) stands for, and what later calls that use it are made on.

import { HandleError, PipelineError } from '../errors/errors.js';
import { type HandleRef, toHandleRef } from '../handles/handle-ref.js';
import type { PromisedHandle } from '../handles/promised-handle.js';

type Outcome = { readonly value: unknown } | { readonly error: Error };

/**
 * One call through a proxy and its result. Calls made on the result (or with
 * it as an argument) before it arrived mark it `wanted`: it is then sent with
 * a promised handle, and they go out at once, naming that handle
 * (pipelining). A result sent without one (nothing used it in the turn it was
 * made) is waited for instead.
 */
export class PendingResult {
  readonly #describe: () => string;
  #description: string | undefined;
  /** A later call uses it before it arrived: send it with a promised handle. */
  wanted = false;
  /** Its name before it exists, once it was sent with one. */
  promised: PromisedHandle | undefined;
  /** Settles with its call; rejected only for those who await it (it is handled once something depends on it). */
  readonly result: Promise<unknown>;
  #resolve: (value: unknown) => void = () => {};
  #reject: (error: Error) => void = () => {};
  #outcome: Outcome | undefined;
  /** Resolves when it was sent (or failed before); never rejects. */
  #sent: Promise<void>;
  #markSent: () => void = () => {};
  #isSent = false;
  #settled: Promise<void>;
  #markSettled: () => void = () => {};
  #released = false;
  #handled = false;

  /** @param describe - names the call in errors; asked only when needed */
  constructor(describe: () => string) {
    this.#describe = describe;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#sent = new Promise((resolve) => {
      this.#markSent = resolve;
    });
    this.#settled = new Promise((resolve) => {
      this.#markSettled = resolve;
    });
  }

  /** The call, as errors name it. */
  get description(): string {
    this.#description ??= this.#describe();
    return this.#description;
  }

  /** Its call's outcome, once it came. */
  get outcome(): Outcome | undefined {
    return this.#outcome;
  }

  /** The user released it (`await using`, `release()`): nothing more may be called on it. */
  get released(): boolean {
    return this.#released;
  }

  /** It has been sent (with its promised handle, if wanted), or failed before. */
  sent(): void {
    this.#isSent = true;
    this.#markSent();
  }

  /** Resolves once it was sent, or failed before; never rejects. */
  whenSent(): Promise<void> {
    return this.#sent;
  }

  /** Resolves once its call settled, whatever the outcome; never rejects. */
  whenSettled(): Promise<void> {
    return this.#settled;
  }

  /**
   * Resolves once a call on it can be sent: it was sent with a promised
   * handle, or its call settled. Never rejects.
   */
  whenKnown(): Promise<void> {
    if (this.#isSent) return this.promised === undefined ? this.#settled : Promise.resolve();
    return this.#sent.then(() => (this.promised === undefined ? this.#settled : undefined));
  }

  settle(outcome: Outcome): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#isSent = true;
    this.#markSent();
    this.#markSettled();
    if ('error' in outcome) this.#reject(outcome.error);
    else this.#resolve(outcome.value);
  }

  /** Something depends on it: its failure surfaces there, so it must not also count as an unhandled rejection. */
  depended(): void {
    if (this.#handled) return;
    this.#handled = true;
    this.result.catch(() => {});
  }

  markReleased(): boolean {
    if (this.#released) return false;
    this.#released = true;
    return true;
  }

  /**
   * The handle a call on this result goes to: its promised handle while it
   * has not arrived (or when it is a plain value kept in Python under it),
   * else the handle of the object it came back as. Undefined while it is
   * still to be waited for (sent without a promised handle, not arrived).
   *
   * @throws PipelineError if its call failed; HandleError if it was released,
   *   or came back as a plain value that Python did not keep.
   */
  receiver(): HandleRef | undefined {
    if (this.#released) {
      throw new HandleError(`The result of '${this.description}' was released; it can no longer be used.`);
    }
    const outcome = this.#outcome;
    if (outcome === undefined) return this.promised;
    if ('error' in outcome) throw this.broken(outcome.error);
    const handle = toHandleRef(outcome.value);
    if (handle !== undefined) return handle;
    if (this.promised !== undefined) return this.promised;
    throw new HandleError(
      `The result of '${this.description}' came back as a plain value (${preview(outcome.value)}), not a Python ` +
        'object, and Python did not keep it: nothing used it before it arrived. Call Python functions with the ' +
        'value instead, or make the call on the result in the same turn as the call that makes it.',
    );
  }

  /** The error of a call that could not be made because this result's call failed. */
  broken(error: Error): PipelineError {
    const cause = PipelineError.is(error) && error.cause instanceof Error ? error.cause : error;
    return new PipelineError(`not sent: it uses the result of '${this.description}', which failed (${cause.message})`, {
      cause,
    });
  }
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

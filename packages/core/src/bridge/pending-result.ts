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
  /**
   * A promised handle can still be given to it: its call is one that can
   * make one (a call, to an invoker that promises handles) and has not been
   * sent. Calls made meanwhile with it in their arguments name it at once.
   */
  promisable = false;
  /** Its name before it exists, once it was sent with one. */
  promised: PromisedHandle | undefined;
  /** Settles with its call; rejected only for those who await it (it is handled once something depends on it). */
  readonly result: Promise<unknown>;
  /** The invoker's answer, once it was sent (or why it could not be). */
  #reply: Promise<unknown> | undefined;
  #outcome: Outcome | undefined;
  /** Resolves when it was sent (or failed before); never rejects. */
  #sent: Promise<void>;
  #markSent: () => void = () => {};
  #isSent = false;
  #settled: Promise<void>;
  #markSettled: () => void = () => {};
  #released = false;
  #handled = false;
  /** Calls through the bridge that use it (on it, or with it) and have not settled. */
  #users = 0;
  #onUnused: (() => void) | undefined;
  /** The results of earlier calls this one uses: told when it settles. */
  #uses: PendingResult[] = [];

  /** The target of its call: a dotted name, or a method or attribute name on what it was called on. */
  readonly target: string;

  /** @param describe - names the call in errors; asked only when needed */
  constructor(describe: () => string, target: string) {
    this.#describe = describe;
    this.target = target;
    this.#sent = new Promise((resolve) => {
      this.#markSent = resolve;
    });
    this.#settled = new Promise((resolve) => {
      this.#markSettled = resolve;
    });
    this.result = this.#answer();
  }

  /**
   * The reply, awaited in an async function: the error the invoker makes
   * after its own await then has the stack of the code awaiting the result
   * (V8 follows awaits), as it had before calls waited for the end of the turn.
   */
  async #answer(): Promise<unknown> {
    await this.#sent;
    // The only reaction to the reply: V8 follows a chain of awaits only where each promise has one.
    try {
      const value = await this.#reply;
      this.#settle({ value });
      return value;
    } catch (error) {
      this.#settle({ error: error as Error });
      throw error;
    }
  }

  /** Names its call, holding only names (not the result): what a promised handle of it names its call by. */
  get describer(): () => string {
    return this.#describe;
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

  /** It has been sent (with its promised handle, if wanted): `reply` is the invoker's answer. */
  sent(reply: Promise<unknown>): void {
    if (this.#isSent) return;
    this.#reply = reply;
    this.#isSent = true;
    this.#markSent();
  }

  /** It could not be sent: `error` says why. */
  fail(error: Error): void {
    this.sent(Promise.reject(error));
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

  /** Called with the outcome when it came: for calls made on the result (and its own hooks). */
  onSettled: ((outcome: Outcome) => void) | undefined;

  #settle(outcome: Outcome): void {
    this.#outcome = outcome;
    this.#markSettled();
    this.onSettled?.(outcome);
    for (const used of this.#uses) used.#unused();
    this.#uses = [];
  }

  /**
   * `later`, a call made after this one, uses this result (is made on it, or
   * with it): this result is sent with a promised handle, and that handle is
   * not freed before `later` settles. Its failure surfaces there.
   */
  usedBy(later: PendingResult): void {
    this.wanted = true;
    this.depended();
    this.#users += 1;
    later.#uses.push(this);
  }

  #unused(): void {
    this.#users -= 1;
    if (this.#users > 0) return;
    const run = this.#onUnused;
    this.#onUnused = undefined;
    run?.();
  }

  /** Runs `then` once no call that uses this result is in flight (now, if none is). */
  whenUnused(then: () => void): void {
    if (this.#users === 0) then();
    else this.#onUnused = then;
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
   * @throws PipelineError if its call failed; HandleError if it came back as
   *   a plain value that Python did not keep.
   */
  receiver(): HandleRef | undefined {
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

// A handle named before its object exists: the result of a call that has not
// come back yet, which later calls may use at once (pipelining,
// docs/architecture.md). The worker keeps the call's outcome under its id.

import { PipelineError } from '../errors/errors.js';
import { HandleRef } from './handle-ref.js';

/** The bit that marks a promised handle id on the wire; the ids a worker gives its handles stay below it. */
export const PROMISED = 0x8000_0000;

/**
 * The result of a call, named by the host before the call ran: pass it as
 * `Call.promise` of that call, then as the handle of later calls, or in
 * their arguments, and they are sent at once. The worker runs them after the
 * call that makes it, with its result (an object, or a plain value).
 *
 * Made by `Invoker.promiseHandle()`. Its owner is known once its call is
 * sent (`placed`): calls that name it wait for that, then go to the same
 * worker, and never to another. Releasing it (`Invoker.release`) says no new
 * call will name it; the worker forgets it once its call has settled and no
 * call that names it is in flight.
 */
export class PromisedHandle extends HandleRef {
  readonly #describe: () => string;
  /** Resolves with its owner once its call is sent; rejects with a PipelineError if that call failed before. */
  readonly placed: Promise<string>;
  #onPlaced: (owner: string) => void = () => {};
  #onFailed: (error: Error) => void = () => {};
  /** Calls in flight that name it. */
  #uses = 0;
  /** Its call has settled on the host. */
  #settled = false;
  /** The release waiting for its call and the calls naming it to settle. */
  #release: (() => void) | undefined;

  /**
   * @param serial - a number unique among the invoker's promised handles, from 1 to 2^31 - 1
   * @param describe - names its call in errors; asked only then
   */
  constructor(serial: number, describe: () => string) {
    super({ id: PROMISED + serial, type: 'promised result' });
    this.#describe = describe;
    this.placed = new Promise<string>((resolve, reject) => {
      this.#onPlaced = resolve;
      this.#onFailed = reject;
    });
    // Awaited only by calls that name it; a failure before it was placed must not go unhandled otherwise.
    this.placed.catch(() => {});
  }

  /** The call whose result it is, as errors name it. */
  get description(): string {
    return this.#describe();
  }

  /** @internal Its call was sent to `owner`, in `session`: calls naming it go there. */
  place(owner: string, session: string | undefined): void {
    if (this.owner !== undefined) return;
    this.locate(owner, session);
    this.#onPlaced(owner);
  }

  /** @internal Its call failed before it reached Python: calls waiting to be sent with it fail with `error` as cause. */
  failBeforePlacement(error: Error): void {
    if (this.owner !== undefined) return;
    // The first error of a chain is the cause of every call after it.
    const cause = PipelineError.is(error) && error.cause instanceof Error ? error.cause : error;
    this.#onFailed(
      new PipelineError(
        `not sent: it uses the result of '${this.description}', which failed before it was sent (${cause.message})`,
        { cause },
      ),
    );
  }

  /** @internal A call that names it is on its way. */
  used(): void {
    this.#uses += 1;
  }

  /** @internal A call that named it has settled. */
  unused(): void {
    this.#uses -= 1;
    this.#releaseIfDone();
  }

  /** @internal Its own call has settled on the host (whatever the outcome). */
  settle(): void {
    this.#settled = true;
    this.#releaseIfDone();
  }

  /**
   * @internal Asked to free it in its worker: true if it may be freed now
   * (its call has settled and no call that names it is in flight); otherwise
   * `release` runs once that is so. Either way, once only (false after).
   */
  releaseWhenDone(release: () => void): boolean {
    if (this.#release !== undefined) return false;
    if (this.#settled && this.#uses === 0) {
      this.#release = () => {};
      return true;
    }
    this.#release = release;
    return false;
  }

  #releaseIfDone(): void {
    const release = this.#release;
    if (release === undefined || !this.#settled || this.#uses > 0) return;
    this.#release = () => {};
    release();
  }
}

/** Whether a handle is a promised one. */
export function isPromised(handle: HandleRef): handle is PromisedHandle {
  return handle instanceof PromisedHandle;
}

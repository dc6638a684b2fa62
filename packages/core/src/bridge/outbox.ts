// The calls a bridge makes in one turn of the event loop, sent in order at its
// end. Waiting that long (a microtask) is what makes pipelining possible: by
// then the code that made a call has also made the calls that use its result
// (`sk.RandomForestClassifier().fit(x, y)`), so the first is sent with a
// promised handle and the others go with it, instead of one round trip each.
// Only the sending waits: each call's arguments are encoded (or copied) when
// it is made, so that changing them afterwards changes nothing.

import { type Context, context as otelContext } from '@opentelemetry/api';
import { HandleError } from '../errors/errors.js';
import { type HandleRef, toHandleRef } from '../handles/handle-ref.js';
import type { PromisedHandle } from '../handles/promised-handle.js';
import { describeCall } from '../invoker/describe-call.js';
import type { Call, CallOptions, EncodedArguments, Invoker } from '../invoker/invoker.js';
import { captured } from './captured.js';
import { PendingResult } from './pending-result.js';

/** A call as proxies make it: on a handle, or on the result of an earlier call (`receiver`) that may not be back. */
export interface ProxyCall extends Call {
  /** The result the call is made on, instead of `handle`: the attribute path `target` is on it. */
  readonly receiver?: PendingResult | undefined;
}

/** Property of a result's proxy under which its PendingResult is found. */
export const PENDING_RESULT: unique symbol = Symbol.for('@snakebridge/core/PendingResult');

interface Queued {
  /** The call; its arguments, when not `encoded`, copied as they were when it was made. */
  readonly call: ProxyCall;
  readonly options: CallOptions;
  readonly result: PendingResult;
  /** Its arguments, encoded by the invoker when it was made. */
  readonly encoded: EncodedArguments | undefined;
  /** Its (copied) arguments hold results of earlier calls, to be settled (or named) when it is sent. */
  readonly usesResults: boolean;
  /**
   * The OpenTelemetry context active when the call was made: it is sent in it, so that its span is a child
   * of the caller's span, not of the span of whichever call of the turn was made first.
   */
  readonly context: Context;
}

/** What an outbox tells its bridge about promised handles that results no longer need, or need for long. */
export interface OutboxHooks {
  /**
   * A result sent with a promised handle came back as a plain value: Python keeps it under that handle for
   * calls on it, so the handle must be freed when nothing can reach the result any more.
   */
  kept(result: PendingResult, handle: PromisedHandle): void;
  /** No new call will name this promised handle (its result arrived as a handle, or failed): free it. */
  retire(handle: PromisedHandle): void;
}

/** Sends the calls of one bridge in the order they were made, at the end of the turn they were made in. */
export class Outbox {
  readonly #invoker: Invoker;
  readonly #hooks: OutboxHooks;
  #queue: Queued[] = [];

  constructor(invoker: Invoker, hooks: OutboxHooks) {
    this.#invoker = invoker;
    this.#hooks = hooks;
  }

  /**
   * Queues a call, with its arguments as they are now; the PendingResult
   * returned stands for its result. Results of earlier calls it uses (its
   * receiver, its arguments) are marked wanted, so that they are sent with
   * promised handles.
   */
  submit(call: ProxyCall, options: CallOptions): PendingResult {
    const result = new PendingResult(describer(call), call.target);
    const used: PendingResult[] = call.receiver === undefined ? [] : [call.receiver];
    collectResults(call.args, used);
    if (call.kwargs !== undefined) collectResults(Object.values(call.kwargs), used);
    const refused = used.find((earlier) => earlier.released);
    if (refused !== undefined) {
      result.fail(new HandleError(`The result of '${refused.description}' was released; it can no longer be used.`));
      return result;
    }
    for (const earlier of used) earlier.usedBy(result);
    const inArguments = used.length > (call.receiver === undefined ? 0 : 1);
    let queued: Queued;
    try {
      queued = this.#captured(call, options, result, inArguments ? used : undefined);
    } catch (error) {
      result.fail(error as Error);
      return result;
    }
    result.promisable = call.op === 'call' && this.#invoker.promiseHandle !== undefined;
    if (this.#queue.push(queued) === 1) queueMicrotask(() => this.#flush());
    return result;
  }

  /**
   * The call as queued, its arguments kept as they are now: encoded by the
   * invoker when it can and the results they hold (`used`) need no waiting
   * for (each is back, or has a promised handle, given now if it can still
   * have one), else copied, to be encoded when sent.
   *
   * @throws what encoding throws; a PipelineError when a result they hold failed.
   */
  #captured(call: ProxyCall, options: CallOptions, result: PendingResult, used: PendingResult[] | undefined): Queued {
    const context = otelContext.active();
    const encode = this.#invoker.encodeArguments;
    if (encode !== undefined) {
      if (used !== undefined) for (const earlier of used) this.#promiseEarly(earlier);
      const ready = used === undefined ? call : settledNow(call);
      if (ready !== undefined) {
        const encoded = encode.call(this.#invoker, ready);
        return { call, options, result, encoded, usesResults: false, context };
      }
    }
    const copied = { ...call, args: captured(call.args), kwargs: captured(call.kwargs) };
    return { call: copied, options, result, encoded: undefined, usesResults: used !== undefined, context };
  }

  /** Gives a result not sent yet its promised handle now, so that a call with it in its arguments can name it. */
  #promiseEarly(earlier: PendingResult): void {
    if (earlier.promisable && earlier.promised === undefined) this.#promise(earlier);
  }

  #promise(result: PendingResult): void {
    const promiseHandle = this.#invoker.promiseHandle;
    // Its describer holds no result: the garbage collector frees the handle when the result goes.
    if (promiseHandle !== undefined) result.promised = promiseHandle.call(this.#invoker, result.describer);
  }

  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const entry of queued) this.#send(entry);
  }

  /** Sends a call now, or once the results it is made on or with are known (those sent without a name). */
  #send(entry: Queued): void {
    let ready: Call | Promise<Call>;
    try {
      ready = this.#ready(entry);
    } catch (error) {
      this.#fail(entry, error as Error);
      return;
    }
    if (ready instanceof Promise) {
      ready.then(
        (call) => this.#start(entry, call),
        (error: unknown) => this.#fail(entry, error as Error),
      );
    } else {
      this.#start(entry, ready);
    }
  }

  /** It cannot be sent: it fails, and so do the calls made meanwhile that named its promised handle. */
  #fail(entry: Queued, error: Error): void {
    const { result } = entry;
    entry.encoded?.discard();
    result.promisable = false;
    result.fail(error);
    const promised = result.promised;
    if (promised === undefined) return;
    promised.failBeforePlacement(error);
    promised.settle();
    this.#hooks.retire(promised);
  }

  #start(entry: Queued, ready: Call): void {
    const { result, options } = entry;
    result.promisable = false;
    let call = ready;
    if (result.wanted && result.promised === undefined && call.op === 'call') this.#promise(result);
    const promised = result.promised;
    if (promised !== undefined) {
      call = { ...call, promise: promised };
      result.onSettled = (outcome) => {
        // Calls made on it from now on go to the object it came back as, or fail at once: its name is not
        // needed once those made meanwhile have settled. A plain value is reached through it for as long as
        // the result can be.
        if ('value' in outcome && toHandleRef(outcome.value) === undefined) this.#hooks.kept(result, promised);
        else result.whenUnused(() => this.#hooks.retire(promised));
      };
    }
    let reply: Promise<unknown>;
    try {
      // Without an SDK (or in the context it was made in) the context is the same one: no switch on the way.
      reply =
        entry.context === otelContext.active()
          ? this.#invoker.call(call, options)
          : otelContext.with(entry.context, () => this.#invoker.call(call, options));
    } catch (error) {
      reply = Promise.reject(error);
    }
    result.sent(reply);
  }

  /**
   * The call as it can be sent now: on the handle its receiver stands for,
   * with results in its (copied) arguments replaced by what they came back
   * as (or left to name their promised handles). A promise when one of them
   * was sent without a promised handle and has not come back.
   *
   * @throws PipelineError when a result it uses failed.
   */
  #ready(entry: Queued): Call | Promise<Call> {
    const { call, encoded } = entry;
    const waits: Promise<void>[] = [];
    let handle: HandleRef | undefined = call.handle;
    if (call.receiver !== undefined) {
      handle = call.receiver.receiver();
      if (handle === undefined) waits.push(call.receiver.whenKnown());
    }
    let { args, kwargs } = call;
    if (entry.usesResults) {
      args = args === undefined ? undefined : (settled(args, waits, 0) as unknown[]);
      kwargs = kwargs === undefined ? undefined : (settled(kwargs, waits, 0) as Record<string, unknown>);
    }
    if (waits.length > 0) return Promise.all(waits).then(() => this.#ready(entry));
    if (encoded !== undefined) return { op: call.op, target: call.target, handle, encoded };
    return { op: call.op, target: call.target, handle, args, kwargs };
  }
}

/**
 * Names a call as errors do: `numpy.linalg.norm`, or on a result `(RandomForestClassifier(…)).fit`. Only the
 * call that made the result is named, not the chain before it (a long chain would make long names); and the
 * function holds none of the results, only names.
 */
export function describer(call: ProxyCall): () => string {
  const { op, target, handle } = call;
  const made = call.receiver === undefined ? undefined : call.receiver.target.split('.').pop() || 'result';
  if (made === undefined) return () => describeCall({ op, target, handle });
  const on = `(${made}(…))`;
  return () => describeCall({ op, target: target === '' ? on : `${on}.${target}` });
}

/** The PendingResult a value is the proxy of, if it is the proxy of a result. */
export function pendingResultOf(value: unknown): PendingResult | undefined {
  if (typeof value !== 'object' || value === null || !(value instanceof Promise)) return undefined;
  const result = (value as { [PENDING_RESULT]?: unknown })[PENDING_RESULT];
  return result instanceof PendingResult ? result : undefined;
}

/**
 * Adds the results among `values` (and one level inside arrays and plain
 * objects among them) to `found`. Deeper ones are found by the encoder, which
 * can only name those sent with a promised handle (or back as handles).
 */
function collectResults(values: readonly unknown[] | undefined, found: PendingResult[]): void {
  if (values === undefined) return;
  for (const value of values) {
    if (value instanceof Promise) collectResult(value, found);
    else if (Array.isArray(value)) for (const item of value) collectResult(item, found);
    else if (isPlainObject(value)) for (const item of Object.values(value)) collectResult(item, found);
  }
}

function collectResult(value: unknown, found: PendingResult[]): void {
  const result = pendingResultOf(value);
  if (result !== undefined) found.push(result);
}

/**
 * The call with the results in its arguments replaced by what they came back
 * as (or left to name their promised handles), as it can be encoded now;
 * undefined if one must be waited for.
 *
 * @throws PipelineError when one of them failed.
 */
function settledNow(call: ProxyCall): ProxyCall | undefined {
  const waits: Promise<void>[] = [];
  const args = call.args === undefined ? undefined : (settled(call.args, waits, 0) as unknown[]);
  const kwargs = call.kwargs === undefined ? undefined : (settled(call.kwargs, waits, 0) as Record<string, unknown>);
  return waits.length > 0 ? undefined : { ...call, args, kwargs };
}

/**
 * `value` with the results in it (at the top, and one level inside arrays
 * and plain objects) replaced by what they came back as, copying containers
 * only where something changed; a result that has a promised handle stays,
 * for the encoder to name. A result to be waited for adds to `waits`.
 */
function settled(value: unknown, waits: Promise<void>[], depth: number): unknown {
  const result = pendingResultOf(value);
  if (result !== undefined) return settledResult(result, value, waits);
  if (depth > 1) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const replaced = settled(item, waits, depth + 1);
      if (replaced === item) return;
      copy ??= [...value];
      copy[index] = replaced;
    });
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const replaced = settled(item, waits, depth + 1);
      if (replaced === item) continue;
      copy ??= { ...value };
      copy[key] = replaced;
    }
    return copy ?? value;
  }
  return value;
}

function settledResult(result: PendingResult, proxy: unknown, waits: Promise<void>[]): unknown {
  const outcome = result.outcome;
  if (outcome !== undefined) {
    if ('error' in outcome) throw result.broken(outcome.error);
    return outcome.value;
  }
  if (result.promised !== undefined) return proxy;
  waits.push(result.whenKnown());
  return proxy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

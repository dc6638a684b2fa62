// Programmed responses: what the mock answers for a callable, optionally only
// for certain arguments, with an optional delay and a limited number of uses.

import { isDeepStrictEqual } from 'node:util';
import type {
  CallOp,
  PositionalArgs,
  PyAttribute,
  PyHandle,
  PyIterator,
  PythonError,
  ResultOf,
} from '@snakebridge/core';
import { pythonError } from './python-errors.js';

type Args = readonly unknown[];
type Kwargs = Readonly<Record<string, unknown>>;

/** What a `calls()` function receives: `calls(({ args: [a, b] }) => a + b)`. */
export interface MockCall {
  readonly target: string;
  /** Positional arguments, after a round trip through the serializer; handles are your objects again. */
  readonly args: unknown[];
  readonly kwargs: Kwargs;
  /**
   * Aborts when the caller's timeout passes or its signal aborts, like a
   * cancel reaching Python; for a stream, also when it ends before the
   * generator does (the consumer stopped early, or an item failed).
   */
  readonly signal: AbortSignal;
  /** The session the call ran in, if any. */
  readonly session: string | undefined;
}

/** Computes a response from the call. May be async, or a (async) generator function for streams. */
export type Responder<R = unknown> = (call: MockCall) => R | Promise<R> | Iterable<unknown> | AsyncIterable<unknown>;

// --- typing programmed responses by the generated declarations -----------------

/** The type of a callable without generated declarations: anything goes. */
export type UntypedCallable = (...args: unknown[]) => Promise<unknown>;

/**
 * What may stand for a Python value of type `R` in a programmed response:
 * the value itself, or for an object that travels as a handle, a JavaScript
 * object with (some of) its methods and attributes.
 */
export type MockValue<R> =
  R extends PyIterator<infer T>
    ? Iterable<MockValue<T>> | AsyncIterable<MockValue<T>> | MockObject<R>
    : R extends PyHandle
      ? MockObject<R>
      : R extends readonly (infer E)[]
        ? readonly MockValue<E>[]
        : R;

/**
 * A JavaScript stand-in for a Python object of a declared class: any of its
 * methods (returning stand-ins for their results, or promises of them) and
 * attributes (their values), checked against the declarations.
 */
export type MockObject<R> = {
  readonly [K in keyof R as K extends string ? K : never]?: R[K] extends (...args: infer _A) => Promise<infer X>
    ? // biome-ignore lint/suspicious/noExplicitAny: a stand-in may take its arguments in any form (kwargs arrive as a last object)
      (...args: any[]) => MockValue<X> | Promise<MockValue<X>>
    : R[K] extends PyAttribute<infer X>
      ? MockValue<X>
      : unknown;
};

/** The items of a declared generator's iterator, else unknown. */
export type ItemOf<R> = R extends PyIterator<infer T> ? T : unknown;

export type ResponseAction =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'compute'; readonly fn: Responder }
  | { readonly kind: 'throw'; readonly error: PythonError }
  | {
      readonly kind: 'yield';
      readonly items: Iterable<unknown> | AsyncIterable<unknown>;
      readonly error?: PythonError | undefined;
    };

/** One programmed response. */
export interface ProgrammedResponse {
  readonly op: CallOp;
  readonly target: string;
  readonly args: Args | undefined;
  readonly kwargs: Kwargs | undefined;
  readonly predicate: ((args: Args, kwargs: Kwargs) => boolean) | undefined;
  readonly action: ResponseAction;
  readonly delayMs: number;
  /** Uses left; Infinity unless `once()` or `times()` said otherwise. */
  remaining: number;
}

/** True if the response answers this call. */
export function matches(response: ProgrammedResponse, op: CallOp, target: string, args: Args, kwargs: Kwargs): boolean {
  if (response.remaining <= 0 || response.target !== target) return false;
  // A response programmed for a call also answers a stream of that call.
  if (response.op !== op && !(response.op === 'call' && op === 'iter')) return false;
  if (response.args !== undefined && !isDeepStrictEqual([...response.args], [...args])) return false;
  if (response.kwargs !== undefined && !isDeepStrictEqual({ ...response.kwargs }, { ...kwargs })) return false;
  return response.predicate === undefined || response.predicate(args, kwargs);
}

/** A one-line description for the strict-mode error message. */
export function describeResponse(response: ProgrammedResponse): string {
  const args = response.args === undefined ? 'any args' : `args ${JSON.stringify(response.args)}`;
  const kwargs = response.kwargs === undefined ? '' : `, kwargs ${JSON.stringify(response.kwargs)}`;
  const when = response.predicate === undefined ? '' : ', when(…)';
  const op = response.op === 'call' ? '' : `${response.op} `;
  return `${op}${response.target} (${args}${kwargs}${when})${response.remaining === Infinity ? '' : ` ×${response.remaining} left`}`;
}

/**
 * Programs how the mock answers one callable. Finish with `returns`,
 * `calls`, `throws` or `yields`; narrow it first with `withArgs`,
 * `withKwargs` or `when`.
 *
 * `F` is the callable's declared type when `snakebridge types` generated
 * declarations for its module: arguments and results are then checked
 * against the Python signature.
 */
export class ResponseBuilder<F = UntypedCallable> {
  #args: Args | undefined;
  #kwargs: Kwargs | undefined;
  #predicate: ((args: Args, kwargs: Kwargs) => boolean) | undefined;
  #delayMs = 0;
  #times = Infinity;
  readonly #op: CallOp;
  readonly #target: string;
  readonly #add: (response: ProgrammedResponse) => void;

  /** @internal made by `MockInvoker.on()`. */
  constructor(op: CallOp, target: string, add: (response: ProgrammedResponse) => void) {
    this.#op = op;
    this.#target = target;
    this.#add = add;
  }

  /** Only answers calls with exactly these positional arguments (deep equality). */
  withArgs(...args: PositionalArgs<F>): this {
    this.#args = args;
    return this;
  }

  /** Only answers calls with exactly these keyword arguments. */
  withKwargs(kwargs: Kwargs): this {
    this.#kwargs = kwargs;
    return this;
  }

  /** Only answers calls for which the predicate holds. */
  when(predicate: (args: Args, kwargs: Kwargs) => boolean): this {
    this.#predicate = predicate;
    return this;
  }

  /** Answers after this long, as a slow Python call would (timeouts and aborts apply). */
  delay(ms: number): this {
    this.#delayMs = ms;
    return this;
  }

  /** Answers only the next matching call. */
  once(): this {
    return this.times(1);
  }

  /** Answers only the next `count` matching calls. */
  times(count: number): this {
    this.#times = count;
    return this;
  }

  /** Resolves with this value (copied through the serializer, as a real call would). */
  returns(value: MockValue<ResultOf<F>>): void {
    this.#finish({ kind: 'value', value });
  }

  /** Resolves with what `fn(call)` returns or resolves to; a generator function makes a stream. */
  calls(fn: Responder<MockValue<ResultOf<F>>>): void {
    this.#finish({ kind: 'compute', fn: fn as Responder });
  }

  /** Rejects with a PythonError: `throws('KeyError', "'id'")` or `throws(pythonError(...))`. */
  throws(error: PythonError | string, message = ''): void {
    this.#finish({ kind: 'throw', error: typeof error === 'string' ? pythonError(error, message) : error });
  }

  /** Streams these items; then, if given, raises the error after them. */
  yields(
    items: Iterable<MockValue<ItemOf<ResultOf<F>>>> | AsyncIterable<MockValue<ItemOf<ResultOf<F>>>>,
    thenThrows?: PythonError,
  ): void {
    this.#finish({ kind: 'yield', items, error: thenThrows });
  }

  #finish(action: ResponseAction): void {
    this.#add({
      op: this.#op,
      target: this.#target,
      args: this.#args,
      kwargs: this.#kwargs,
      predicate: this.#predicate,
      action,
      delayMs: this.#delayMs,
      remaining: this.#times,
    });
  }
}

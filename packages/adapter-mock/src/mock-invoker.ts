// An in-memory Invoker for users' unit tests: answers calls as programmed,
// records every call, and copies values through the real serializer so that
// what would fail against Python (a function argument, a cycle) fails here too.

import {
  type Call,
  type CallableAt,
  type CallOp,
  type CallOptions,
  CancelledError,
  type CheckedTarget,
  ClosedError,
  callbackIndex,
  HandleError,
  HandleRef,
  type HandleWire,
  type HostFunction,
  type Invoker,
  type InvokerStats,
  JsonSerializer,
  type PythonError,
  type Serializer,
  SessionError,
  type SessionRef,
  type StreamOptions,
  TimeoutError,
  UnprogrammedCallError,
  withDeadline,
} from '@snakebridge/core';
import {
  getPath,
  MissingAttributeError,
  pythonTypeOf,
  replaceObjects,
  reviveCallbacks,
  setPath,
} from './mock-objects.js';
import { pythonError } from './python-errors.js';
import { ReadAhead } from './read-ahead.js';
import {
  describeResponse,
  type MockCall,
  matches,
  type ProgrammedResponse,
  ResponseBuilder,
  type UntypedCallable,
} from './responses.js';

/** The declared type of the callable at `T`, or an untyped callable when its module has no declarations. */
type Declared<T extends string> = [CallableAt<T>] extends [never] ? UntypedCallable : CallableAt<T>;

/** How a MockInvoker behaves; `createMockInvoker` fills it in from the config (`mock`, `streams.window`). */
export interface MockInvokerOptions {
  /**
   * Fail calls that nobody programmed, with a message listing what was.
   * When false, an unprogrammed call resolves with null. @default true
   */
  readonly strict?: boolean | undefined;
  /**
   * Values are copied through this serializer, as over a real bridge, so that
   * what it refuses (a function, a cycle) fails here too. @default the JSON serializer
   */
  readonly serializer?: Serializer | undefined;
  /**
   * How many items a streamed generator may run ahead of its consumer when
   * the stream names no `window`, as `streams.window` does for real workers.
   * @default 64
   */
  readonly streamWindow?: number | undefined;
}

/** One call the mock received, for assertions. */
export interface RecordedCall {
  readonly op: CallOp;
  readonly target: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** The handle the call was made on, if any. */
  readonly handle: HandleRef | undefined;
  readonly session: string | undefined;
  /** Whether it was a streamed call. */
  readonly stream: boolean;
}

interface MockObjectEntry {
  readonly impl: object;
  readonly session: string | undefined;
}

/** Answers a call that no programmed response matched; the fixture replayer plugs in here. */
export type Fallback = (
  call: Call,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
) => { readonly found: true; readonly respond: () => unknown } | { readonly found: false };

const OWNER = 'mock';
/** The config's default `streams.window`. */
const DEFAULT_STREAM_WINDOW = 64;

/**
 * The mock invoker.
 *
 * @example
 * const mock = new MockInvoker();
 * mock.on('numpy.linalg.norm').withArgs([3, 4]).returns(5);
 * const bridge = await createBridge({}, { invoker: mock });
 * await bridge.module('numpy').linalg.norm([3, 4]); // 5
 * expect(mock.callsTo('numpy.linalg.norm')).toHaveLength(1);
 */
export class MockInvoker implements Invoker {
  readonly kind = 'mock';
  /** Every call received, oldest first. */
  readonly calls: RecordedCall[] = [];
  readonly #strict: boolean;
  readonly #serializer: Serializer;
  readonly #streamWindow: number;
  readonly #responses: ProgrammedResponse[] = [];
  readonly #objects = new Map<number, MockObjectEntry>();
  readonly #sessions = new Set<string>();
  readonly #fallbacks: Fallback[] = [];
  #nextId = 1;
  #closed = false;
  #inFlight = 0;
  #succeeded = 0;
  #failed = 0;

  constructor(options: MockInvokerOptions = {}) {
    this.#strict = options.strict ?? true;
    this.#serializer = options.serializer ?? new JsonSerializer();
    this.#streamWindow = options.streamWindow ?? DEFAULT_STREAM_WINDOW;
  }

  // --- programming -----------------------------------------------------------

  /**
   * Programs the answer to calls of `target` (a dotted name). The most
   * recently programmed response that matches a call answers it.
   *
   * With generated declarations for the target's module (`snakebridge types`),
   * a name the module does not have fails to compile, and the arguments and
   * results you program are checked against the Python signature.
   */
  on<T extends string>(target: T & CheckedTarget<T>, op: CallOp = 'call'): ResponseBuilder<Declared<T>> {
    return new ResponseBuilder(op, target, (response) => this.#responses.push(response));
  }

  /** Programs the value of a module attribute read with `await mod.attr`. */
  onGetattr(target: string): ResponseBuilder {
    return new ResponseBuilder('getattr', target, (response) => this.#responses.push(response));
  }

  /** Adds a source of answers consulted after the programmed responses (e.g. recorded fixtures). */
  addFallback(fallback: Fallback): void {
    this.#fallbacks.push(fallback);
  }

  /** The calls made to one target. */
  callsTo(target: string): RecordedCall[] {
    return this.calls.filter((call) => call.target === target);
  }

  /** Forgets programmed responses and recorded calls. */
  reset(): void {
    this.#responses.length = 0;
    this.calls.length = 0;
  }

  // --- Invoker -----------------------------------------------------------------

  async start(): Promise<void> {}

  call<T = unknown>(call: Call, options: CallOptions = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('The mock invoker'));
    this.#inFlight += 1;
    const result = withDeadline(describeTarget(call), options, async (abandoned) => {
      const value = await this.#respond(call, options, abandoned, false);
      return this.#copyOut(value, options, sessionOf(call, options)) as T;
    });
    return this.#count(result);
  }

  stream<T = unknown>(call: Call, options: StreamOptions = {}): AsyncIterableIterator<T> {
    return this.#stream<T>(call, options);
  }

  async release(handles: readonly HandleRef[]): Promise<void> {
    for (const handle of handles) this.#objects.delete(handle.id);
  }

  async openSession(): Promise<SessionRef> {
    const id = `s${this.#nextId++}`;
    this.#sessions.add(id);
    return { id, owner: OWNER };
  }

  async closeSession(session: SessionRef): Promise<void> {
    this.#sessions.delete(session.id);
    for (const [id, entry] of this.#objects) if (entry.session === session.id) this.#objects.delete(id);
  }

  stats(): InvokerStats {
    return {
      inFlight: this.#inFlight,
      callsStarted: this.calls.length,
      callsSucceeded: this.#succeeded,
      callsFailed: this.#failed,
      liveHandles: this.#objects.size,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  // --- answering ---------------------------------------------------------------

  async #respond(call: Call, options: CallOptions, signal: AbortSignal, stream: boolean): Promise<unknown> {
    const session = sessionOf(call, options);
    if (session !== undefined && !this.#sessions.has(session)) {
      throw new SessionError(`Session ${session} is closed; open a new one with bridge.session().`);
    }
    const [args, kwargs] = this.#copyIn(call);
    this.calls.push({ op: call.op, target: call.target, args, kwargs, handle: call.handle, session, stream });
    if (call.handle !== undefined && this.#objects.has(call.handle.id)) return this.#onObject(call, args, kwargs);
    const response = call.handle === undefined ? this.#find(call.op, call.target, args, kwargs) : undefined;
    if (response !== undefined) {
      if (response.delayMs > 0) await sleep(response.delayMs, signal);
      return this.#act(response, { target: call.target, args, kwargs, signal, session });
    }
    for (const fallback of this.#fallbacks) {
      const answer = fallback(call, args, kwargs);
      if (answer.found) return answer.respond();
    }
    if (call.handle !== undefined) {
      throw new HandleError(`Handle ${call.handle.id} (${call.handle.type}) was released; it can no longer be used.`);
    }
    if (this.#strict) throw this.#unprogrammed(call, args, kwargs);
    return null;
  }

  #find(op: CallOp, target: string, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>) {
    for (let i = this.#responses.length - 1; i >= 0; i--) {
      const response = this.#responses[i] as ProgrammedResponse;
      if (matches(response, op, target, args, kwargs)) {
        response.remaining -= 1;
        return response;
      }
    }
    return undefined;
  }

  #act(response: ProgrammedResponse, call: MockCall): unknown {
    const { action } = response;
    switch (action.kind) {
      case 'value':
        return action.value;
      case 'compute':
        return action.fn(call);
      case 'throw':
        throw action.error;
      case 'yield':
        return action.error === undefined ? action.items : itemsThenThrow(action.items, action.error);
    }
  }

  /** A call on a handle: the JavaScript object standing for the Python one answers. */
  #onObject(call: Call, args: unknown[], kwargs: Readonly<Record<string, unknown>>): unknown {
    const impl = this.#lookup(call.handle as HandleRef);
    try {
      switch (call.op) {
        case 'getattr':
          return getPath(impl, call.target);
        case 'setattr':
          setPath(impl, call.target, args[0]);
          return null;
        case 'iter':
          return getPath(impl, call.target);
        default: {
          const method = getPath(impl, call.target);
          if (typeof method !== 'function')
            throw pythonError('TypeError', `'${pythonTypeOf(Object(method))}' object is not callable`);
          return Object.keys(kwargs).length === 0 ? method(...args) : method(...args, kwargs);
        }
      }
    } catch (error) {
      if (error instanceof MissingAttributeError) throw pythonError('AttributeError', error.message);
      throw error;
    }
  }

  #lookup(handle: HandleRef): object {
    const entry = this.#objects.get(handle.id);
    if (entry === undefined)
      throw new HandleError(`Handle ${handle.id} (${handle.type}) was released; it can no longer be used.`);
    return entry.impl;
  }

  async *#stream<T>(call: Call, options: StreamOptions): AsyncGenerator<T> {
    if (this.#closed) throw new ClosedError('The mock invoker');
    const target = describeTarget(call);
    const session = sessionOf(call, options);
    const lifetime = streamLifetime(target, options);
    const { signal } = lifetime.controller;
    let items: ReadAhead<T> | undefined;
    let exhausted = false;
    try {
      const source = await unlessAborted(signal, () => this.#respond(call, options, signal, true));
      const copy = (item: unknown) => this.#copyOut(item, options, session) as T;
      const reader = new ReadAhead(toAsyncIterator(source), options.window ?? this.#streamWindow, copy);
      items = reader;
      for (;;) {
        const next = await unlessAborted(signal, () => reader.next());
        if (next.done) break;
        yield next.value;
      }
      exhausted = true;
      this.#succeeded += 1;
    } catch (error) {
      this.#failed += 1;
      throw error;
    } finally {
      // A stream that ends before its source does (the consumer stopped early,
      // it failed, timed out or was cancelled) tells the responder, as a cancel reaches Python.
      if (!exhausted) lifetime.controller.abort();
      lifetime.dispose();
      items?.close();
    }
  }

  // --- values ------------------------------------------------------------------

  /** Arguments as Python would see them: copied, with handles resolved to their objects. */
  #copyIn(call: Call): [unknown[], Readonly<Record<string, unknown>>] {
    // Functions travel as callbacks, as through the stdio invoker, and reach the responder as themselves.
    const callbacks: HostFunction[] = [];
    const bytes = this.#serializer.encode([call.args ?? [], call.kwargs ?? {}], {
      onFunction: (fn) => callbackIndex(callbacks, fn),
    });
    // A handle the mock does not hold (a replayed one) stays a HandleRef, so fixtures can match it.
    const copied = this.#serializer.decode(bytes, {
      handle: (wire) => this.#objects.get(wire.id)?.impl ?? new HandleRef(wire),
    });
    const [args, kwargs] = (callbacks.length === 0 ? copied : reviveCallbacks(copied, callbacks)) as [
      unknown[],
      Record<string, unknown>,
    ];
    return [args, kwargs];
  }

  /** A result as the caller would get it: objects become handles, the rest is copied. */
  #copyOut(value: unknown, options: CallOptions, session: string | undefined): unknown {
    const wire = replaceObjects(value, (impl) => {
      const id = this.#nextId++;
      this.#objects.set(id, { impl, session });
      return new HandleRef({ id, type: pythonTypeOf(impl) });
    });
    const revive = (handle: HandleWire): unknown => {
      const ref = new HandleRef(handle, OWNER, session);
      return options.reviveHandle ? options.reviveHandle(ref) : ref;
    };
    return this.#serializer.decode(this.#serializer.encode(wire), { handle: revive });
  }

  #count<T>(result: Promise<T>): Promise<T> {
    return result.then(
      (value) => {
        this.#inFlight -= 1;
        this.#succeeded += 1;
        return value;
      },
      (error: unknown) => {
        this.#inFlight -= 1;
        this.#failed += 1;
        throw error;
      },
    );
  }

  #unprogrammed(
    call: Call,
    args: readonly unknown[],
    kwargs: Readonly<Record<string, unknown>>,
  ): UnprogrammedCallError {
    const programmed = this.#responses.filter((r) => r.remaining > 0).map((r) => `  - ${describeResponse(r)}`);
    const kw = Object.keys(kwargs).length === 0 ? '' : `, kwargs ${safeJson(kwargs)}`;
    return new UnprogrammedCallError(
      `The mock invoker has no response for ${call.op} ${describeTarget(call)} with args ${safeJson(args)}${kw}.\n` +
        (programmed.length === 0 ? 'Nothing is programmed.' : `Programmed:\n${programmed.join('\n')}`) +
        `\nProgram it with mock.on(${JSON.stringify(call.target)}).returns(…), or create the mock with { strict: false }.`,
    );
  }
}

function describeTarget(call: Call): string {
  if (call.handle === undefined) return call.target;
  return call.target === ''
    ? `<${call.handle.type} #${call.handle.id}>`
    : `<${call.handle.type} #${call.handle.id}>.${call.target}`;
}

function sessionOf(call: Call, options: CallOptions): string | undefined {
  return options.session?.id ?? call.handle?.session;
}

/**
 * The AbortController of one stream, whose signal the responder sees as
 * MockCall.signal. It aborts with TimeoutError when `timeoutMs` passes (the
 * deadline bounds the whole stream, not each item) and with CancelledError
 * when the caller's signal aborts. `dispose` stops the timer and the listener.
 */
function streamLifetime(target: string, options: CallOptions): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  const { signal: callerSignal, timeoutMs } = options;
  const onAbort = (): void => controller.abort(new CancelledError(target, callerSignal?.reason));
  if (callerSignal?.aborted) onAbort();
  else callerSignal?.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs
    ? setTimeout(() => controller.abort(new TimeoutError(target, timeoutMs)), timeoutMs)
    : undefined;
  const dispose = (): void => {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onAbort);
  };
  return { controller, dispose };
}

/**
 * Settles as `work()` does, unless `signal` aborts first: then it rejects at
 * once with the signal's reason (without calling `work` if it already had),
 * and work's late outcome is ignored.
 */
function unlessAborted<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
}

async function* itemsThenThrow(
  items: Iterable<unknown> | AsyncIterable<unknown>,
  error: PythonError,
): AsyncGenerator<unknown> {
  yield* items;
  throw error;
}

function toAsyncIterator(source: unknown): AsyncIterator<unknown> {
  if (source !== null && typeof source === 'object') {
    if (Symbol.asyncIterator in source) return (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    if (Symbol.iterator in source) {
      const iterator = (source as Iterable<unknown>)[Symbol.iterator]();
      return {
        next: async () => iterator.next(),
        return: async () => iterator.return?.() ?? { done: true, value: undefined },
      };
    }
  }
  throw pythonError('TypeError', `'${typeof source}' object is not iterable`);
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item)) ?? 'undefined'
    );
  } catch {
    return String(value);
  }
}

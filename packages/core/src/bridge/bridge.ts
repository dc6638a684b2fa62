// The user-facing API: call Python functions by name, through module proxies,
// in sessions pinned to one worker; handles become proxies and are released
// explicitly, by `await using`, or when garbage-collected. Calls go out in
// order at the end of the turn they were made in, so that calls on results
// not back yet ride along (pipelining: outbox.ts).

import type { ResolvedConfig } from '../config/types.js';
import { ClosedError, SessionError } from '../errors/errors.js';
import { type HandleRef, toHandleRef } from '../handles/handle-ref.js';
import type { PromisedHandle } from '../handles/promised-handle.js';
import type { CallOptions, Invoker, InvokerStats, SessionRef, StreamOptions } from '../invoker/invoker.js';
import type { Logger } from '../logger/logger.js';
import type { PyAttribute, PythonModules } from '../typing/python-types.js';
import { Outbox, type ProxyCall } from './outbox.js';
import { PendingResult } from './pending-result.js';
import { handleProxy, moduleProxy, type ProxyScope, type PyProxy, resultProxy, SETATTR } from './python-proxy.js';

type Kwargs = Readonly<Record<string, unknown>>;

/**
 * Calls into Python, on any worker (a Bridge) or on one pinned worker (a
 * Session). Both offer the same methods.
 */
export abstract class CallScope implements ProxyScope {
  protected constructor(
    protected readonly handles: HandleTracker,
    /** The session calls are pinned to, if any. */
    protected readonly sessionRef: SessionRef | undefined,
  ) {}

  /** Fails fast when the scope is closed. */
  protected abstract ensureOpen(): void;

  /**
   * Calls a Python callable by dotted name and resolves with its result.
   * Objects that cannot travel by value come back as proxies (handles).
   *
   * @example await bridge.call<number>('math.hypot', [3, 4])  // 5
   * @example await bridge.call('json.dumps', [{ a: 1 }], { indent: 2 })
   */
  call<T = PyProxy>(target: string, args: readonly unknown[] = [], kwargs?: Kwargs, options?: CallOptions): Promise<T> {
    return this.invoke<T>({ op: 'call', target, args, kwargs }, options);
  }

  /**
   * Calls a Python generator function (or any callable returning an iterable)
   * and yields its items as Python produces them, with back-pressure.
   * Breaking out of the loop closes the generator in Python.
   *
   * @example for await (const line of bridge.stream<string>('mymod.read_lines', [path])) { … }
   */
  stream<T = unknown>(
    target: string,
    args: readonly unknown[] = [],
    kwargs?: Kwargs,
    options?: StreamOptions,
  ): AsyncIterableIterator<T> {
    return this.iterate<T>({ op: 'call', target, args, kwargs }, options);
  }

  /**
   * A proxy for a Python module: `await np.linalg.norm([3, 4])`. The module is
   * imported (once per worker) on the first call through it.
   *
   * Typed by its name when `snakebridge types` generated declarations for it
   * (docs/typing.md); otherwise untyped (`PyProxy`), or typed by you:
   * `bridge.module<MyTypes>('mymod')`.
   */
  module<N extends keyof PythonModules & string>(name: N): PythonModules[N];
  module<T = PyProxy>(name: string): T;
  module(name: string): unknown {
    return moduleProxy(this, name);
  }

  /** Evaluates a Python expression, with `locals` as its local variables. Needs `security.allowEval`. */
  eval<T = PyProxy>(expression: string, locals?: Kwargs, options?: CallOptions): Promise<T> {
    return this.invoke<T>({ op: 'eval', target: expression, kwargs: locals }, options);
  }

  /** Executes Python statements, with `globals` as their globals. Needs `security.allowEval`. */
  async exec(code: string, globals?: Kwargs, options?: CallOptions): Promise<void> {
    await this.invoke({ op: 'exec', target: code, kwargs: globals }, options);
  }

  /** @internal used by proxies; prefer `call`. */
  invoke<T>(call: ProxyCall, options?: CallOptions): Promise<T> {
    try {
      this.ensureOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.handles.submit(call, this.withDefaults(options)).result as Promise<T>;
  }

  /** @internal used by proxies: a call whose result's proxy comes back at once. */
  callForResult(call: ProxyCall, options?: CallOptions): PyProxy {
    let result: PendingResult;
    try {
      this.ensureOpen();
      result = this.handles.submit(call, this.withDefaults(options));
    } catch (error) {
      result = new PendingResult(() => call.target, call.target);
      result.fail(error as Error);
    }
    return resultProxy(this.handles, result);
  }

  /** @internal used by proxies; prefer `stream`. */
  iterate<T>(call: ProxyCall, options?: StreamOptions): AsyncIterableIterator<T> {
    this.ensureOpen();
    return this.handles.iterate<T>(call, this.withDefaults(options));
  }

  /** @internal used by proxies; prefer the exported `release()`. */
  release(ref: HandleRef): Promise<void> {
    return this.handles.release(ref);
  }

  /** @internal used by proxies; prefer the exported `release()`. */
  releaseResult(result: PendingResult): Promise<void> {
    return this.handles.releaseResult(result);
  }

  private withDefaults<O extends CallOptions>(options: O | undefined): O {
    return {
      ...options,
      session: options?.session ?? this.sessionRef,
      reviveHandle: options?.reviveHandle ?? this.handles.revive,
    } as O;
  }
}

/**
 * Calls pinned to one worker, so state made by one call (a registry, a
 * loaded model) is there for the next. Close it to free what it created:
 * `await using session = await bridge.session()`.
 */
export class Session extends CallScope implements AsyncDisposable {
  #closed = false;
  readonly #onClose: () => void;

  /** @internal created by `Bridge.session()`. */
  constructor(handles: HandleTracker, ref: SessionRef, onClose: () => void) {
    super(handles, ref);
    this.#onClose = onClose;
  }

  /** The session's id and the worker it is pinned to. */
  get ref(): SessionRef {
    return this.sessionRef as SessionRef;
  }

  protected ensureOpen(): void {
    if (this.#closed) throw new SessionError(`Session ${this.ref.id} is closed; open a new one with bridge.session().`);
  }

  /** Ends the session and frees every Python object created in it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    await this.handles.invoker.closeSession(this.ref);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The entry point: calls Python through the invoker chosen by the config.
 * Create one with `createBridge(config)`, close it with `close()` or
 * `await using`.
 */
export class Bridge extends CallScope implements AsyncDisposable {
  readonly config: ResolvedConfig;
  readonly #sessions = new Set<Session>();
  #closing: Promise<void> | undefined;

  /** @internal use `createBridge()`, which picks and wires the invoker. */
  constructor(invoker: Invoker, config: ResolvedConfig, logger: Logger) {
    super(new HandleTracker(invoker, logger), undefined);
    this.config = config;
  }

  /** The invoker doing the calls (an adapter); e.g. for `mockOf(bridge)` in tests. */
  get invoker(): Invoker {
    return this.handles.invoker;
  }

  protected ensureOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError('This bridge');
  }

  /** Starts workers now rather than on the first call. */
  async start(): Promise<void> {
    this.ensureOpen();
    await this.handles.invoker.start();
  }

  /** Opens a session: a sequence of calls pinned to one worker. */
  async session(): Promise<Session> {
    this.ensureOpen();
    const ref = await this.handles.invoker.openSession();
    const session: Session = new Session(this.handles, ref, () => this.#sessions.delete(session));
    this.#sessions.add(session);
    return session;
  }

  /** The invoker's counters. */
  stats(): InvokerStats {
    return this.handles.invoker.stats();
  }

  /** Closes open sessions, waits for calls in flight, then stops every worker. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await Promise.allSettled([...this.#sessions].map((session) => session.close()));
    this.handles.stop();
    await this.handles.invoker.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Turns handles into proxies and frees their Python objects when a proxy is
 * released or garbage-collected. Releases from the garbage collector are
 * batched, so a loop that drops many objects costs one message, not many.
 *
 * One proxy per Python object: a handle that comes back while its proxy is
 * alive (`model.fit(x, y)` returns `self`) is that proxy, and the extra
 * reference Python counted for it is given back at once, so nothing leaks.
 *
 * It is also the scope of every handle proxy, and of every result's proxy:
 * calls on a handle are routed by the handle's owner (and session), whichever
 * bridge or session made it. And it holds the outbox that sends every call of
 * the bridge and its sessions, in order, at the end of the turn.
 */
class HandleTracker implements ProxyScope {
  readonly invoker: Invoker;
  readonly #logger: Logger;
  /** Handles by their proxies, and promised handles by the results they name. */
  readonly #registry: FinalizationRegistry<HandleRef>;
  readonly #pending = new Set<HandleRef>();
  /** The live proxy of each handle, by owner, session and id. */
  readonly #proxies = new Map<string, WeakRef<PyProxy>>();
  readonly #outbox: Outbox;
  #flushTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(invoker: Invoker, logger: Logger) {
    this.invoker = invoker;
    this.#logger = logger;
    this.#registry = new FinalizationRegistry((ref) => this.#collected(ref));
    this.#outbox = new Outbox(invoker, {
      // Freed once nothing can reach the result (its proxy, proxies of its attributes, calls on it).
      kept: (result, promised) => this.#registry.register(result, promised, promised),
      retire: (promised) => this.#retire(promised),
    });
  }

  /** Makes the proxy that stands for a handle in a result. */
  readonly revive = (ref: HandleRef): PyProxy => {
    const key = proxyKey(ref);
    const known = this.#proxies.get(key)?.deref();
    if (known !== undefined && toHandleRef(known)?.released === false) {
      // Python counted this sending: give it back, the caller keeps the proxy it has.
      if (ref.markReleased()) this.#releaseLater(ref);
      return known;
    }
    const proxy = handleProxy(this, ref);
    this.#registry.register(proxy, ref, ref);
    this.#proxies.set(key, new WeakRef(proxy));
    return proxy;
  };

  /** Queues a call for the end of the turn; results become proxies. */
  submit(call: ProxyCall, options: CallOptions | undefined): PendingResult {
    return this.#outbox.submit(call, { ...options, reviveHandle: options?.reviveHandle ?? this.revive });
  }

  invoke<T>(call: ProxyCall, options?: CallOptions): Promise<T> {
    return this.submit(call, options).result as Promise<T>;
  }

  callForResult(call: ProxyCall, options?: CallOptions): PyProxy {
    return resultProxy(this, this.submit(call, options));
  }

  iterate<T>(call: ProxyCall, options?: StreamOptions): AsyncIterableIterator<T> {
    const withRevive = { ...options, reviveHandle: options?.reviveHandle ?? this.revive };
    if (call.receiver === undefined) return this.invoker.stream<T>(call, withRevive);
    return this.#iterateResult<T>(call.receiver, call, withRevive);
  }

  /** Iterates (an attribute of) a result, once it is known what it is: sent with a promised handle, or back. */
  async *#iterateResult<T>(receiver: PendingResult, call: ProxyCall, options: StreamOptions): AsyncGenerator<T> {
    receiver.depended();
    let handle = receiver.receiver();
    while (handle === undefined) {
      await receiver.whenKnown();
      handle = receiver.receiver();
    }
    yield* this.invoker.stream<T>(
      { op: call.op, target: call.target, handle, args: call.args, kwargs: call.kwargs },
      options,
    );
  }

  async release(ref: HandleRef): Promise<void> {
    this.#registry.unregister(ref);
    this.#forget(ref);
    if (!ref.markReleased()) return;
    await this.invoker.release([ref]);
  }

  /**
   * Frees what a result stands for: its promised handle at once (in Python,
   * once the calls using it have settled), and the object it came back as
   * when it does. Nothing more may be called on it.
   */
  async releaseResult(result: PendingResult): Promise<void> {
    if (!result.markReleased()) return;
    await result.whenSent();
    const promised = result.promised;
    if (promised !== undefined) result.whenUnused(() => this.#retire(promised));
    await result.whenSettled();
    const outcome = result.outcome;
    const ref = outcome !== undefined && 'value' in outcome ? toHandleRef(outcome.value) : undefined;
    if (ref !== undefined) await this.release(ref);
  }

  /**
   * No new call will name this promised handle: the invoker frees it once those made have settled. Batched
   * with the handles the garbage collector freed: one message for many.
   */
  #retire(promised: PromisedHandle): void {
    this.#registry.unregister(promised);
    if (!this.#stopped) this.#releaseLater(promised);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#flushTimer);
  }

  #collected(ref: HandleRef): void {
    this.#forget(ref);
    if (this.#stopped || !ref.markReleased()) return;
    this.#releaseLater(ref);
  }

  #releaseLater(ref: HandleRef): void {
    this.#pending.add(ref);
    this.#flushTimer ??= setTimeout(() => this.#flush(), 50).unref();
  }

  /** Drops the proxy's entry, unless a newer proxy of the same object holds it. */
  #forget(ref: HandleRef): void {
    const key = proxyKey(ref);
    const known = this.#proxies.get(key)?.deref();
    if (known === undefined || toHandleRef(known) === ref) this.#proxies.delete(key);
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const refs = [...this.#pending];
    this.#pending.clear();
    this.invoker.release(refs).catch((error: unknown) => {
      this.#logger.debug(`releasing ${refs.length} collected handles failed: ${String(error)}`);
    });
  }
}

function proxyKey(ref: HandleRef): string {
  return `${ref.owner ?? ''}\u0000${ref.session ?? ''}\u0000${ref.id}`;
}

/** Frees the Python objects behind these proxies now. Idempotent. */
export async function release(...objects: readonly unknown[]): Promise<void> {
  await Promise.all(
    objects.map(async (object) => {
      const dispose = (object as Partial<AsyncDisposable> | null)?.[Symbol.asyncDispose];
      if (typeof dispose === 'function') await dispose.call(object);
    }),
  );
}

/**
 * Sets an attribute in Python: `await setattr(model, 'alpha', 0.5)`, or on a
 * module: `await setattr(bridge.module('mymod'), 'DEBUG', true)`. With
 * generated declarations, the name must be an attribute of the object and
 * the value of its type.
 */
export async function setattr<O, K extends AttributeName<O>>(
  object: O,
  name: K,
  value: AttributeValue<O, K>,
  options?: CallOptions,
): Promise<void> {
  const set = (object as { [SETATTR]?: unknown } | null)?.[SETATTR];
  if (typeof set !== 'function')
    throw new TypeError('setattr needs a Python proxy (a module or an object from Python)');
  await set(name, value, options);
}

/** The attributes of a declared object (any name for an untyped one). */
type AttributeName<O> = 0 extends 1 & O
  ? string
  : { [K in keyof O]: O[K] extends PyAttribute<unknown> ? K : never }[keyof O] & string;

/** The type of a declared attribute's value. */
type AttributeValue<O, K> = 0 extends 1 & O
  ? unknown
  : K extends keyof O
    ? O[K] extends PyAttribute<infer T>
      ? T
      : unknown
    : unknown;

/** The HandleRef behind a proxy: its id, Python type, repr and owning worker. */
export function handleOf(object: unknown): HandleRef | undefined {
  return toHandleRef(object);
}

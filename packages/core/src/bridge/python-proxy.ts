// Proxies that make Python modules and objects look local:
//   const np = bridge.module('numpy');  await np.linalg.norm([3, 4])   // 5
//   const model = sk.linear_model.LinearRegression();  await model.fit(x, y)
//
// A proxy records a path of attribute names. Calling it calls that path in
// Python and gives at once the proxy of the result, which is also a promise
// of it: awaiting it gives the result; calling its methods sends those calls
// right behind the first, before its result is back (pipelining). Awaiting
// any other path (below a module, a handle or a result) reads the attribute.
// Nothing crosses the bridge until a call or an await.

import { inspect } from 'node:util';
import { PYTHON_PROXY } from '../callbacks/callback-ref.js';
import { HANDLE_REF, type HandleRef, toHandleRef } from '../handles/handle-ref.js';
import type { CallOptions, StreamOptions } from '../invoker/invoker.js';
import { splitArguments } from './markers.js';
import { PENDING_RESULT, type ProxyCall } from './outbox.js';
import type { PendingResult } from './pending-result.js';

/** Proxy member that sets an attribute; used by `setattr()`. */
export const SETATTR: unique symbol = Symbol.for('@snakebridge/core/setattr');

/** What a proxy needs from the bridge or session that made it. */
export interface ProxyScope {
  /** A call through a proxy: sent at the end of this turn; the proxy of its result comes back at once. */
  callForResult(call: ProxyCall, options?: CallOptions): PyProxy;
  /** An attribute read or write, sent in turn with the calls. */
  invoke<T>(call: ProxyCall, options?: CallOptions): Promise<T>;
  iterate<T>(call: ProxyCall, options?: StreamOptions): AsyncIterableIterator<T>;
  release(ref: HandleRef): Promise<void>;
  /** Frees the object a result came back as (and its promised handle), once it has come back. */
  releaseResult(result: PendingResult): Promise<void>;
}

/**
 * A Python module or object seen from TypeScript. Its members are not known
 * statically, so it is typed `any`; give `module<T>()` your own type for
 * checked calls.
 */
// biome-ignore lint/suspicious/noExplicitAny: the shape of a Python object is only known at run time
export type PyProxy = any;

interface ProxyState {
  readonly scope: ProxyScope;
  /** The object the path starts from; undefined when it starts from a module name or a result. */
  readonly handle: HandleRef | undefined;
  /** The result of a call the path starts from, arrived or not; undefined when it starts elsewhere. */
  readonly result: PendingResult | undefined;
  /** Attribute names from the root; for a module path the first is the module. */
  readonly path: readonly string[];
}

/** A proxy for a module by dotted name. Not thenable itself, so it can be returned from async code. */
export function moduleProxy(scope: ProxyScope, name: string): PyProxy {
  return makeProxy({ scope, handle: undefined, result: undefined, path: name.split('.') }, false);
}

/** A proxy for the Python object behind a handle. */
export function handleProxy(scope: ProxyScope, handle: HandleRef): PyProxy {
  return makeProxy({ scope, handle, result: undefined, path: [] }, false);
}

/**
 * The proxy of a call's result: a promise of the result (`then`, `catch`,
 * `finally`), and, before the result is back, the proxy of the object it
 * will be: calls on its attributes are sent at once, behind the call
 * (pipelining). Not callable itself: test frameworks call a function given to
 * `expect(…).rejects`, and encoders refuse it as the Promise it is (deep in an
 * argument, before it has a handle, promised or not).
 */
export function resultProxy(scope: ProxyScope, result: PendingResult): PyProxy {
  const state: ProxyState = { scope, handle: undefined, result, path: [] };
  const target: object = Object.create(Promise.prototype, {
    [inspect.custom]: { value: () => describe(state), configurable: true },
  });
  return makeProxy(state, false, target);
}

function makeProxy(state: ProxyState, thenable: boolean, promiseTarget?: object): PyProxy {
  // A function target, so that the proxy can be called. util.inspect looks at
  // the target, not through the proxy's traps, so the description goes there.
  let target = promiseTarget;
  if (target === undefined) {
    target = function pythonProxy(): void {};
    Object.defineProperty(target, inspect.custom, { value: () => describe(state) });
  }
  const isResultRoot = state.result !== undefined && state.path.length === 0;
  return new Proxy(target, {
    get(_target, property) {
      if (typeof property === 'symbol') return symbolMember(state, property);
      if (isResultRoot && Object.hasOwn(PROMISE_METHODS, property)) {
        return PROMISE_METHODS[property]?.(state.result as PendingResult);
      }
      if (property === 'then') return thenable ? readAttribute(state) : undefined;
      if (Object.hasOwn(JS_PROTOCOL, property)) return JS_PROTOCOL[property]?.(state);
      // Something will be read or called on the result: have it sent with a name, so that can go at once.
      if (state.result !== undefined) state.result.wanted = true;
      return makeProxy({ ...state, path: [...state.path, property] }, true);
    },
    apply(_target, _this, rawArgs: unknown[]) {
      const { args, kwargs, options } = splitArguments(rawArgs);
      return state.scope.callForResult({ op: 'call', ...address(state), args, kwargs }, options);
    },
    set(_target, property) {
      throw new TypeError(
        `Cannot assign ${String(property)} on a Python proxy synchronously; use await setattr(obj, ${JSON.stringify(String(property))}, value).`,
      );
    },
    has(_target, property) {
      return typeof property === 'symbol' && property === HANDLE_REF && rootHandle(state) !== undefined;
    },
  });
}

/** A result's proxy is a promise of the result: these are the promise's, bound to it. */
const PROMISE_METHODS: Readonly<Record<string, ((result: PendingResult) => unknown) | undefined>> = {
  // biome-ignore lint/suspicious/noThenProperty: it is the proxy's `then`: a result's proxy is a promise of it
  then: (result) => result.result.then.bind(result.result),
  catch: (result) => result.result.catch.bind(result.result),
  finally: (result) => result.result.finally.bind(result.result),
};

/**
 * The handle a root proxy stands for: a handle's own, or a result's, as the
 * encoder sends it: the object it came back as, else its promised handle.
 */
function rootHandle(state: ProxyState): HandleRef | undefined {
  if (state.path.length > 0) return undefined;
  if (state.handle !== undefined) return state.handle;
  const result = state.result;
  if (result === undefined) return undefined;
  const outcome = result.outcome;
  const arrived = outcome !== undefined && 'value' in outcome ? toHandleRef(outcome.value) : undefined;
  return arrived ?? result.promised;
}

/**
 * Names JavaScript itself, serializers and test frameworks look up on any
 * value they are given: read as Python attributes, each would make a call
 * nobody asked for (JSON.stringify would call a Python `toJSON` and leave its
 * rejection unhandled). They answer locally, at once, and never reach Python;
 * a Python attribute of one of these names is reached with `bridge.call`.
 */
const JS_PROTOCOL: Readonly<Record<string, ((state: ProxyState) => unknown) | undefined>> = {
  /** A plain description, so a result holding proxies can be logged as JSON. */
  toJSON: (state: ProxyState) => () => describeAsJson(state),
  toString: (state: ProxyState) => () => describe(state),
  valueOf: (state: ProxyState) => () => describe(state),
  /** Not a class instance of JavaScript's: equality checks and serializers must not follow it. */
  constructor: undefined,
  // Test frameworks' and UI libraries' duck-typing hooks (Jest/Vitest matchers, React, DOM, Immutable.js, mocks).
  asymmetricMatch: undefined,
  $$typeof: undefined,
  nodeType: undefined,
  tagName: undefined,
  _isMockFunction: undefined,
  '@@__IMMUTABLE_ITERABLE__@@': undefined,
  '@@__IMMUTABLE_RECORD__@@': undefined,
  '@@toStringTag': undefined,
};

/** What `toJSON` gives: `{ $python: 'fractions.Fraction', handle: 3 }`, or the dotted path of a module attribute. */
function describeAsJson(state: ProxyState): { $python: string; handle?: number } {
  if (state.result !== undefined)
    return { $python: [`result of ${state.result.description}`, ...state.path].join('.') };
  if (state.handle === undefined) return { $python: state.path.join('.') };
  const type = [state.handle.type, ...state.path].join('.');
  return { $python: type, handle: state.handle.id };
}

/** Where a call goes: a dotted name from a module, or an attribute path on a handle or on a result. */
function address(state: ProxyState): Pick<ProxyCall, 'target' | 'handle' | 'receiver'> {
  return { target: state.path.join('.'), handle: state.handle, receiver: state.result };
}

function readAttribute(state: ProxyState) {
  return (resolve: (value: unknown) => void, reject: (reason: unknown) => void) => {
    state.scope.invoke({ op: 'getattr', ...address(state) }).then(resolve, reject);
  };
}

function symbolMember(state: ProxyState, property: symbol): unknown {
  const isHandleRoot = state.handle !== undefined && state.path.length === 0;
  const result = state.path.length === 0 ? state.result : undefined;
  switch (property) {
    case HANDLE_REF:
      return rootHandle(state);
    case PENDING_RESULT:
      return result;
    case Symbol.asyncDispose:
      if (result !== undefined) return () => state.scope.releaseResult(result);
      return isHandleRoot ? () => state.scope.release(state.handle as HandleRef) : undefined;
    case Symbol.asyncIterator:
      if (state.result !== undefined) state.result.wanted = true;
      // Iterating a proxy iterates the Python object (or the attribute) in Python, with back-pressure.
      return () => state.scope.iterate({ op: 'iter', ...address(state) });
    case SETATTR:
      if (state.result !== undefined) state.result.wanted = true;
      return (name: string, value: unknown, options?: CallOptions) =>
        state.scope.invoke(
          {
            op: 'setattr',
            target: [...state.path, name].join('.'),
            handle: state.handle,
            receiver: state.result,
            args: [value],
          },
          options,
        );

    case inspect.custom:
      return () => describe(state);
    case Symbol.toPrimitive:
      return () => describe(state);
    case Symbol.toStringTag:
      return 'PyProxy';
    case PYTHON_PROXY:
      // Only attribute paths: a handle's or a result's root proxy travels as its handle (HANDLE_REF).
      return isHandleRoot || result !== undefined ? undefined : describe(state);
    default:
      return undefined;
  }
}

function describe(state: ProxyState): string {
  const path = state.path.length === 0 ? '' : `.${state.path.join('.')}`;
  if (state.result !== undefined) {
    const arrived = rootHandle({ ...state, path: [] });
    const root = arrived === undefined || arrived === state.result.promised ? undefined : arrived;
    return root === undefined ? `<py result of ${state.result.description}>${path}` : `${describeHandle(root)}${path}`;
  }
  if (state.handle === undefined) return `<py ${state.path.join('.')}>`;
  return `${describeHandle(state.handle)}${path}`;
}

function describeHandle(handle: HandleRef): string {
  return `<py ${handle.repr ?? handle.type} #${handle.id}>`;
}

// Proxies that make Python modules and objects look local:
//   const np = bridge.module('numpy');  await np.linalg.norm([3, 4])   // 5
//   const model = await sk.linear_model.LinearRegression();  await model.fit(x, y)
//
// A proxy records a path of attribute names. Calling it calls that path in
// Python; awaiting it (only below a module or handle) reads the attribute.
// Nothing crosses the bridge until a call or an await.

import { inspect } from 'node:util';
import { PYTHON_PROXY } from '../callbacks/callback-ref.js';
import { HANDLE_REF, type HandleRef } from '../handles/handle-ref.js';
import type { Call, CallOptions, StreamOptions } from '../invoker/invoker.js';
import { splitArguments } from './markers.js';

/** Proxy member that sets an attribute; used by `setattr()`. */
export const SETATTR: unique symbol = Symbol.for('@snakebridge/core/setattr');

/** What a proxy needs from the bridge or session that made it. */
export interface ProxyScope {
  invoke<T>(call: Call, options?: CallOptions): Promise<T>;
  iterate<T>(call: Call, options?: StreamOptions): AsyncIterableIterator<T>;
  release(ref: HandleRef): Promise<void>;
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
  /** The object the path starts from; undefined when it starts from a module name. */
  readonly handle: HandleRef | undefined;
  /** Attribute names from the root; for a module path the first is the module. */
  readonly path: readonly string[];
}

/** A proxy for a module by dotted name. Not thenable itself, so it can be returned from async code. */
export function moduleProxy(scope: ProxyScope, name: string): PyProxy {
  return makeProxy({ scope, handle: undefined, path: name.split('.') }, false);
}

/** A proxy for the Python object behind a handle. */
export function handleProxy(scope: ProxyScope, handle: HandleRef): PyProxy {
  return makeProxy({ scope, handle, path: [] }, false);
}

function makeProxy(state: ProxyState, thenable: boolean): PyProxy {
  // A function target, so that the proxy can be called. util.inspect looks at
  // the target, not through the proxy's traps, so the description goes there.
  const target = function pythonProxy(): void {};
  Object.defineProperty(target, inspect.custom, { value: () => describe(state) });
  return new Proxy(target, {
    get(_target, property) {
      if (typeof property === 'symbol') return symbolMember(state, property);
      if (property === 'then') return thenable ? readAttribute(state) : undefined;
      if (Object.hasOwn(JS_PROTOCOL, property)) return JS_PROTOCOL[property]?.(state);
      return makeProxy({ ...state, path: [...state.path, property] }, true);
    },
    apply(_target, _this, rawArgs: unknown[]) {
      const { args, kwargs, options } = splitArguments(rawArgs);
      return state.scope.invoke({ op: 'call', ...address(state), args, kwargs }, options);
    },
    set(_target, property) {
      throw new TypeError(
        `Cannot assign ${String(property)} on a Python proxy synchronously; use await setattr(obj, ${JSON.stringify(String(property))}, value).`,
      );
    },
    has(_target, property) {
      return typeof property === 'symbol' && property === HANDLE_REF && state.handle !== undefined;
    },
  });
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
  if (state.handle === undefined) return { $python: state.path.join('.') };
  const type = [state.handle.type, ...state.path].join('.');
  return { $python: type, handle: state.handle.id };
}

/** Where a call goes: a dotted name from a module, or an attribute path on a handle. */
function address(state: ProxyState): Pick<Call, 'target' | 'handle'> {
  return { target: state.path.join('.'), handle: state.handle };
}

function readAttribute(state: ProxyState) {
  return (resolve: (value: unknown) => void, reject: (reason: unknown) => void) => {
    state.scope.invoke({ op: 'getattr', ...address(state) }).then(resolve, reject);
  };
}

function symbolMember(state: ProxyState, property: symbol): unknown {
  const isHandleRoot = state.handle !== undefined && state.path.length === 0;
  switch (property) {
    case HANDLE_REF:
      return isHandleRoot ? state.handle : undefined;
    case Symbol.asyncDispose:
      return isHandleRoot ? () => state.scope.release(state.handle as HandleRef) : undefined;
    case Symbol.asyncIterator:
      // Iterating a proxy iterates the Python object (or the attribute) in Python, with back-pressure.
      return () => state.scope.iterate({ op: 'iter', ...address(state) });
    case SETATTR:
      return (name: string, value: unknown, options?: CallOptions) =>
        state.scope.invoke(
          { op: 'setattr', target: [...state.path, name].join('.'), handle: state.handle, args: [value] },
          options,
        );
    case inspect.custom:
      return () => describe(state);
    case Symbol.toPrimitive:
      return () => describe(state);
    case Symbol.toStringTag:
      return 'PyProxy';
    case PYTHON_PROXY:
      // Only attribute paths: a handle's root proxy travels as the handle (HANDLE_REF).
      return isHandleRoot ? undefined : describe(state);
    default:
      return undefined;
  }
}

function describe(state: ProxyState): string {
  if (state.handle === undefined) return `<py ${state.path.join('.')}>`;
  const root = `<py ${state.handle.repr ?? state.handle.type} #${state.handle.id}>`;
  return state.path.length === 0 ? root : `${root}.${state.path.join('.')}`;
}

// The vocabulary generated bindings are written in (`snakebridge types`,
// docs/typing.md), and the registries they augment, so that
// `bridge.module('fractions')` is typed by its name alone. Types only: none of
// this exists at run time, where every Python object is the same proxy.

import type { CallOptionsMarker, Kwargs } from '../bridge/markers.js';
import type { NDArray, TypedArray } from '../serializer/ndarray.js';

/**
 * Python modules with generated declarations, by dotted name. Generated files
 * add to it (`declare module '@snakebridge/core' { interface PythonModules { … } }`);
 * `bridge.module(name)` returns `PythonModules[name]` for a name found here.
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by generated declarations
export interface PythonModules {}

/**
 * Python classes with generated declarations, by qualified name
 * (`'fractions.Fraction'`): the type of an instance's proxy. A module refers to
 * another module's class through it ({@link PyInstance}), so declarations
 * generated separately still meet.
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by generated declarations
export interface PythonClasses {}

declare const PY_CLASSES: unique symbol;

/**
 * A proxy for a Python object held in a worker (a handle). `Classes` names
 * its class and base classes (`{ 'pkg.B': true; 'pkg.A': true }`), so that a
 * `B` is accepted where an `A` is expected and an unrelated class is not. It
 * exists only in types.
 */
export interface PyHandle<Classes extends object = object> extends AsyncDisposable {
  readonly [PY_CLASSES]?: Classes;
}

/**
 * An attribute read from Python: awaiting it reads the attribute, once per
 * await (`await model.coef_`). It is a proxy, not a Promise: it has `then` and
 * nothing else of a Promise's.
 */
export type PyAttribute<T> = PromiseLike<T>;

/**
 * What calling a Python callable through a proxy gives (a function, a method,
 * a class): a Promise of its result and, when the result is a Python object
 * with declarations, that object's proxy before it has arrived. Its methods
 * and attributes can be used at once, and those calls go right behind this
 * one, in one round trip (pipelining):
 *
 * @example const model = sk.RandomForestClassifier();  await model.fit(x, y);
 *
 * Calling the object itself (`__call__`) waits for it: `(await make())(x)`.
 */
export type PyResult<T> = Promise<T> & ([T] extends [PyHandle] ? { readonly [K in keyof T]: T[K] } : unknown);

/** Anything reached from an untyped object: awaited, it reads; called, it calls; every name leads further. */
export type PyDynamic = PromiseLike<unknown> & {
  (...args: unknown[]): PyResult<unknown>;
  readonly [name: string]: PyDynamic;
};

/**
 * An object of a class without generated declarations: any attribute can be
 * read or called, and what comes back is `unknown`, to be narrowed.
 */
export type PyObject = PyHandle & { readonly [name: string]: PyDynamic };

/** The proxy of an instance of the class `Name`: its declarations if generated, else a {@link PyObject}. */
export type PyInstance<Name extends string> = Name extends keyof PythonClasses ? PythonClasses[Name] : PyObject;

/** What may be passed where an instance of `Name` is expected: its proxy if declared, else any handle. */
export type PyInstanceArg<Name extends string> = Name extends keyof PythonClasses ? PythonClasses[Name] : PyHandle;

/** A submodule reached as an attribute (`np.linalg`): its declarations if generated, else untyped. */
export type PyModule<Name extends string> = Name extends keyof PythonModules ? PythonModules[Name] : PyDynamic;

/**
 * A Python iterator or generator, held in the worker: `for await` pulls its
 * items with back-pressure; leaving the loop early closes it in Python.
 */
export interface PyIterator<T> extends PyHandle, AsyncIterable<T> {}

/** A Python callable that came back as an object: calling it calls it in Python. */
export type PyCallable<Args extends unknown[], R> = PyHandle & ((...args: Args) => PyResult<R>);

/**
 * What numpy accepts as an array: typed arrays, `NDArray`s, numbers, nested
 * arrays of them, and handles of arrays already in Python.
 */
export type NDArrayLike = TypedArray | NDArray | PyHandle | number | bigint | boolean | null | readonly NDArrayLike[];

/**
 * A numpy array as it arrives: a typed array when one-dimensional, an
 * `NDArray` otherwise. With `A` the dtype's typed array when the declarations
 * know it.
 */
export type PyArray<A extends TypedArray = TypedArray> = A | NDArray<A>;

/**
 * The markers that may end a typed call: keyword arguments, then call
 * options, each optional (`f(x, kwargs({ k: 1 }), callOptions({ timeoutMs }))`).
 * Generated signatures are unions of tuples ending in these. (The options
 * element is optional rather than a tuple of its own: a one-element tuple
 * would lend its keyword type to every later position when TypeScript types
 * `kwargs({...})` from the call, mixing in keywords of other split points.)
 */
export type Trailing<K> = [kw: Kwargs<K>, options?: CallOptionsMarker] | [options: CallOptionsMarker];

// --- dotted names of callables, for the mock's typed programming -------------

// biome-ignore lint/suspicious/noExplicitAny: `any` parameters are what lets any signature match (as in lib.d.ts's ReturnType)
type Callable = (...args: any) => unknown;
type ModuleKey = keyof PythonModules & string;

/** Every `'module.function'` (and `'module.Class'`) that generated declarations know. */
export type CallableName = {
  [M in ModuleKey]: {
    [F in keyof PythonModules[M] & string]: PythonModules[M][F] extends Callable ? `${M}.${F}` : never;
  }[keyof PythonModules[M] & string];
}[ModuleKey];

/** The declared type of the callable at a dotted name; `never` if none is declared. */
export type CallableAt<T extends string> = {
  [M in ModuleKey]: T extends `${M}.${infer F}`
    ? F extends keyof PythonModules[M]
      ? PythonModules[M][F]
      : never
    : never;
}[ModuleKey];

/** Modules with declarations in which `T` would be a direct member, yet is not: a misspelling. */
type MissingIn<T extends string> = {
  [M in ModuleKey]: T extends `${M}.${infer F}`
    ? F extends `${string}.${string}`
      ? never
      : F extends keyof PythonModules[M]
        ? never
        : M
    : never;
}[ModuleKey];

/**
 * `T` itself if it may name a callable: a declared one, or one in a module
 * without declarations. Otherwise a type no string matches, whose one key
 * is the message the compiler shows where `T` was written (`'math.hyopt'`
 * when `math` is declared).
 */
export type CheckedTarget<T extends string> = [MissingIn<T>] extends [never]
  ? T
  : {
      readonly [message in `'${T}' is not declared in ${MissingIn<T>} (regenerate with snakebridge types if it is new)`]: never;
    };

type Args<F> = F extends (...args: infer A) => unknown ? A : unknown[];
type Markers = Kwargs<unknown> | CallOptionsMarker;

/** The positional arguments of a declared callable when it is called without markers. */
export type PositionalArgs<F> = Exclude<Args<F>, [...unknown[], Markers]>;

/** What a declared callable resolves to (for a class, its instance). */
export type ResultOf<F> = F extends Callable ? Awaited<ReturnType<F>> : unknown;

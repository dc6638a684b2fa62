// The mock's stand-ins for Python objects that travel as handles: any
// function or class instance in a programmed result becomes a handle whose
// methods and attributes are the JavaScript object's.

import { CallbackRef, HandleRef, type HostFunction, NDArray, type PythonClasses } from '@snakebridge/core';
import type { MockObject } from './responses.js';

const PY_TYPE = Symbol('pythonType');

/**
 * Marks a JavaScript object as standing for a Python object of the given type,
 * for `handleOf(proxy).type` and messages. Optional: an unmarked class
 * instance gets its constructor's name. When the class has generated
 * declarations, `impl` is checked against them.
 *
 * @example mock.on('sklearn.linear_model.LinearRegression').returns(pyObject('sklearn.linear_model.LinearRegression', new FakeModel()))
 */
export function pyObject<N extends string, T extends object>(
  type: N,
  impl: N extends keyof PythonClasses ? MockObject<PythonClasses[N]> : T,
): typeof impl;
export function pyObject(type: string, impl: object): object {
  Object.defineProperty(impl, PY_TYPE, { value: type });
  return impl;
}

/** The Python type name the mock reports for an object. */
export function pythonTypeOf(value: object): string {
  const marked = (value as { [PY_TYPE]?: string })[PY_TYPE];
  if (marked !== undefined) return marked;
  if (typeof value === 'function') return 'builtins.function';
  return `mock.${value.constructor?.name ?? 'object'}`;
}

/** True for values a serializer carries by value; everything else becomes a handle. */
export function isPlainData(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return true;
  if (typeof value === 'function' || PY_TYPE in value) return false;
  if (Array.isArray(value) || value instanceof Map || value instanceof Set || value instanceof Date) return true;
  if (ArrayBuffer.isView(value) || value instanceof NDArray || value instanceof HandleRef) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copies a value, replacing each object that is not plain data with what
 * `toHandle` returns for it (a HandleRef registered in the mock's table).
 */
export function replaceObjects(value: unknown, toHandle: (object: object) => HandleRef): unknown {
  if (!isPlainData(value)) return toHandle(value as object);
  if (Array.isArray(value)) return value.map((item) => replaceObjects(item, toHandle));
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [replaceObjects(k, toHandle), replaceObjects(v, toHandle)]));
  }
  if (value instanceof Set) return new Set([...value].map((item) => replaceObjects(item, toHandle)));
  if (typeof value === 'object' && value !== null && !(value instanceof Date) && !ArrayBuffer.isView(value)) {
    if (value instanceof NDArray || value instanceof HandleRef) return value;
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = replaceObjects(item, toHandle);
    return copy;
  }
  return value;
}

/** `value` with each CallbackRef replaced by the function it stands for: what a Python function would call. */
export function reviveCallbacks(value: unknown, callbacks: readonly HostFunction[]): unknown {
  if (value instanceof CallbackRef) return callbacks[value.index - 1];
  if (Array.isArray(value)) return value.map((item) => reviveCallbacks(item, callbacks));
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [reviveCallbacks(k, callbacks), reviveCallbacks(v, callbacks)]));
  }
  if (value instanceof Set) return new Set([...value].map((item) => reviveCallbacks(item, callbacks)));
  const proto = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as object)) copy[key] = reviveCallbacks(item, callbacks);
    return copy;
  }
  return value;
}

/** Reads a dotted attribute path of an object, binding a method to its owner. */
export function getPath(root: unknown, path: string): unknown {
  if (path === '') return root;
  let owner: unknown;
  let value = root;
  for (const name of path.split('.')) {
    if (value === null || value === undefined || !(name in Object(value))) {
      throw new MissingAttributeError(value, name);
    }
    owner = value;
    value = (value as Record<string, unknown>)[name];
  }
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(owner) : value;
}

/** Sets a dotted attribute path of an object. */
export function setPath(root: unknown, path: string, newValue: unknown): void {
  const names = path.split('.');
  const last = names.pop() as string;
  const owner = getPath(root, names.join('.'));
  (owner as Record<string, unknown>)[last] = newValue;
}

/** Raised as a Python AttributeError by the mock. */
export class MissingAttributeError extends Error {
  constructor(
    readonly owner: unknown,
    readonly attribute: string,
  ) {
    super(
      `'${owner === null || owner === undefined ? 'NoneType' : pythonTypeOf(Object(owner))}' object has no attribute '${attribute}'`,
    );
  }
}

// Copies of a call's arguments, kept from the moment the call is made until it
// is sent, for the calls whose arguments cannot be encoded then: they hold a
// result that must come back first, or the invoker cannot encode ahead. What
// Python gets is what they were when the call was made.

import { NDArray } from '../serializer/ndarray.js';

/** %TypedArray%.prototype.slice copies, for every typed array (Buffer's own slice does not). */
const copyTypedArray = Object.getPrototypeOf(Uint8Array.prototype).slice as (this: ArrayBufferView) => ArrayBufferView;

/**
 * `value` with whatever the caller could change afterwards copied: arrays,
 * plain objects, typed arrays, DataViews and buffers, Maps, Sets, Dates and
 * NDArrays, at any depth. An object met twice is copied once, so shared
 * objects stay shared and cycles stay cycles (for the serializer to refuse,
 * naming them). Anything else goes as itself: results and handles (proxies),
 * functions (callbacks), instances of other classes.
 */
export function captured<T>(value: T): T {
  return copyOf(value, new Map()) as T;
}

function copyOf(value: unknown, copies: Map<object, unknown>): unknown {
  // Results (promises) and proxies of handles (functions) are named, not copied.
  if (typeof value !== 'object' || value === null || value instanceof Promise) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) return copyArray(value, copies);
  if (ArrayBuffer.isView(value)) return remember(value, copyView(value), copies);
  if (value instanceof ArrayBuffer) return remember(value, value.slice(0), copies);
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return copyObject(value, prototype, copies);
  if (value instanceof Map) return copyMap(value, copies);
  if (value instanceof Set) return copySet(value, copies);
  if (value instanceof Date) return remember(value, new Date(value.getTime()), copies);
  if (value instanceof NDArray) return remember(value, new NDArray(copyView(value.data), [...value.shape]), copies);
  return value;
}

function remember<T>(original: object, copy: T, copies: Map<object, unknown>): T {
  copies.set(original, copy);
  return copy;
}

function copyArray(array: readonly unknown[], copies: Map<object, unknown>): unknown[] {
  const copy = remember(array, new Array<unknown>(array.length), copies);
  for (let index = 0; index < array.length; index++) {
    // A hole stays a hole.
    if (index in array) copy[index] = copyOf(array[index], copies);
  }
  return copy;
}

function copyObject(object: object, prototype: object | null, copies: Map<object, unknown>): object {
  const copy = remember(object, Object.create(prototype) as Record<string, unknown>, copies);
  for (const [key, item] of Object.entries(object)) {
    const value = copyOf(item, copies);
    if (key !== '__proto__') copy[key] = value;
    // Assigned, it would set the copy's prototype: defined, it stays a key, as it is in the original.
    else Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function copyMap(map: ReadonlyMap<unknown, unknown>, copies: Map<object, unknown>): Map<unknown, unknown> {
  const copy = remember(map, new Map<unknown, unknown>(), copies);
  for (const [key, item] of map) copy.set(copyOf(key, copies), copyOf(item, copies));
  return copy;
}

function copySet(set: ReadonlySet<unknown>, copies: Map<object, unknown>): Set<unknown> {
  const copy = remember(set, new Set<unknown>(), copies);
  for (const item of set) copy.add(copyOf(item, copies));
  return copy;
}

function copyView<T extends ArrayBufferView>(view: T): T {
  if (view instanceof DataView) {
    return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength)) as unknown as T;
  }
  return copyTypedArray.call(view) as T;
}

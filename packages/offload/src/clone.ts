// Which values can be handed to another thread by structured cloning without changing.

/**
 * True for values that survive structured cloning unchanged: primitives,
 * plain objects, arrays, Map, Set, Date and typed arrays. A class instance
 * (an NDArray, an Arrow table) would arrive as a plain object, so it stays on
 * the thread that has its class.
 */
export function clonesFaithfully(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (ArrayBuffer.isView(value)) return !(value instanceof DataView);
  const proto = Object.getPrototypeOf(value);
  return (
    proto === Object.prototype ||
    proto === null ||
    Array.isArray(value) ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof Date
  );
}

/**
 * True if every node of the value clones faithfully and none is a handle or
 * a function. Walks the whole value (typed arrays are leaves), because a
 * handle or class instance cloned to a thread would arrive as a plain object
 * and be encoded as one, silently. Cheaper than the encoding it guards.
 */
export function leavesThreadIntact(value: unknown, isHandle: (item: object) => boolean): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'function' || typeof item === 'symbol') return false;
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item) || seen.has(item)) continue;
    if (isHandle(item) || !clonesFaithfully(item)) return false;
    seen.add(item);
    if (item instanceof Map) for (const [key, entry] of item) stack.push(key, entry);
    else if (item instanceof Set || Array.isArray(item)) for (const entry of item) stack.push(entry);
    else if (!(item instanceof Date)) for (const entry of Object.values(item)) stack.push(entry);
  }
  return true;
}

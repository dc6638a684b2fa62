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

// Markers a proxy call recognises among its arguments: keyword arguments and
// per-call options. `np.linalg.norm(v, kwargs({ ord: 1 }), callOptions({ timeoutMs: 50 }))`.

import type { CallOptions, StreamOptions } from '../invoker/invoker.js';

const KWARGS = Symbol.for('@snakebridge/core/kwargs');
const OPTIONS = Symbol.for('@snakebridge/core/callOptions');

/**
 * Keyword arguments for a proxy call. `K` is their type when the callable has
 * generated declarations, which check each name and value.
 */
export interface Kwargs<K = Readonly<Record<string, unknown>>> {
  readonly [KWARGS]: K;
}

/** Per-call options for a proxy call. */
export interface CallOptionsMarker {
  readonly [OPTIONS]: StreamOptions;
}

/**
 * Marks an argument of a proxy call as Python keyword arguments:
 * `await pd.read_csv(path, kwargs({ sep: ';', header: null }))`.
 *
 * Where the callable has generated declarations, their type comes from the
 * call (`NoInfer`: never from the object itself), so a misspelled name or a
 * wrong value fails to compile: "'wdth' does not exist … Did you mean 'width'?".
 */
export function kwargs<K extends object = Readonly<Record<string, unknown>>>(values: NoInfer<K>): Kwargs<K> {
  return { [KWARGS]: values };
}

/**
 * Marks an argument of a proxy call as the call's options:
 * `await model.fit(x, y, callOptions({ timeoutMs: 60_000, signal }))`.
 */
export function callOptions(options: StreamOptions): CallOptionsMarker {
  return { [OPTIONS]: options };
}

/** Splits the trailing markers off a proxy call's arguments. */
export function splitArguments(raw: readonly unknown[]): {
  args: unknown[];
  kwargs: Readonly<Record<string, unknown>> | undefined;
  options: CallOptions | undefined;
} {
  const args = [...raw];
  let keywords: Readonly<Record<string, unknown>> | undefined;
  let options: CallOptions | undefined;
  // Markers sit at the end, in either order.
  for (let i = 0; i < 2 && args.length > 0; i++) {
    const last = args[args.length - 1];
    if (isMarker(last, KWARGS) && keywords === undefined) {
      keywords = (last as Kwargs)[KWARGS];
      args.pop();
    } else if (isMarker(last, OPTIONS) && options === undefined) {
      options = (last as CallOptionsMarker)[OPTIONS];
      args.pop();
    }
  }
  return { args, kwargs: keywords, options };
}

function isMarker(value: unknown, marker: symbol): boolean {
  return typeof value === 'object' && value !== null && marker in value;
}

// A host function that Python can call back while the call that passed it runs.

/** Any JavaScript function passed to Python as a callback. */
// biome-ignore lint/suspicious/noExplicitAny: callbacks take whatever Python sends them.
export type HostFunction = (...args: any[]) => unknown;

/**
 * How a function travels inside a call's arguments: its 1-based index among
 * the functions of that call, in the order the encoder met them
 * (docs/protocol.md, "Callbacks"). The invoker keeps the functions; the
 * worker gets a `snakebridge.HostCallback` that asks the host to run one.
 *
 * Encoders write a CallbackRef as the same reference, and decoders return
 * one for a reference they find (a worker never sends one in practice); both
 * exist so that golden vectors can pin the bytes.
 */
export class CallbackRef {
  constructor(readonly index: number) {}

  toString(): string {
    return `<callback #${this.index}>`;
  }
}

/**
 * Proxy member naming the Python attribute a proxy stands for
 * (`<py builtins.len>`). Proxies are callable, so without it an encoder would
 * take one for a JavaScript function.
 */
export const PYTHON_PROXY: unique symbol = Symbol.for('@snakebridge/core/PythonProxy');

/**
 * Why a proxy of a Python attribute cannot be sent as a callback: Python would
 * call back into the host, which would call the worker that is waiting for it.
 */
export function proxyRefusal(proxy: object): string | undefined {
  const name = (proxy as { [PYTHON_PROXY]?: string })[PYTHON_PROXY];
  if (name === undefined) return undefined;
  return (
    `${name} is a Python attribute seen through a proxy, not a JavaScript function, so it cannot be passed ` +
    "as a callback; pass the Python object itself: a handle (await bridge.eval('len')) or its owner"
  );
}

/**
 * The callback index of `fn` among a call's functions, adding it if new: what
 * an invoker's `EncodeContext.onFunction` returns. 1-based; the same function
 * twice is one callback.
 */
export function callbackIndex(callbacks: HostFunction[], fn: HostFunction): number {
  const known = callbacks.indexOf(fn);
  return known >= 0 ? known + 1 : callbacks.push(fn);
}

/** The refusal for a function where no invoker asked for callbacks (the protobuf serializer, a bare serializer). */
export const FUNCTION_REFUSED =
  'a function can be passed to Python only as a callback, in the arguments of a call through an invoker, with the json, ' +
  'msgpack or arrow serializer; pass data, or a handle to a Python object';

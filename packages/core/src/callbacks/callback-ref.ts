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

/** The refusal for a function where no invoker asked for callbacks (protobuf, gRPC, a bare serializer). */
export const FUNCTION_REFUSED =
  'a function can be passed to Python only as a callback, which needs the stdio invoker with the json, ' +
  'msgpack or arrow serializer; pass data, or a handle to a Python object';

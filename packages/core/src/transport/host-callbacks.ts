// Python calling back into the host: the functions a call passed in its
// arguments run here when Python asks, and their answers go back through the
// call's channel (docs/protocol.md, "Callbacks").

import type { HostFunction } from '../callbacks/callback-ref.js';
import { HandleError, ProtocolError } from '../errors/errors.js';
import type { DecodeContext, Serializer } from '../serializer/serializer.js';
import type { CallbackAnswer, CallbackRequest, CallControl, Channel } from './transport.js';

/**
 * The host functions of one call, run when Python asks. Requests still
 * running when the call ends are answered as expired then, so that no Python
 * thread waits forever; their functions' late answers are dropped.
 */
export class HostCallbacks {
  readonly #functions: readonly HostFunction[];
  readonly #serializer: Serializer;
  /** The call's target, for per-callable serializer schemas. */
  readonly #target: string;
  /** The channel the call runs on: a returned handle must live there, and expired requests' handles are freed there. */
  readonly #channel: Pick<Channel, 'owner' | 'release'>;
  /** Requests running in the host, answered once each: by the function, or as expired. */
  readonly #running = new Set<number>();
  #ended = false;

  constructor(
    functions: readonly HostFunction[],
    serializer: Serializer,
    target: string,
    channel: Pick<Channel, 'owner' | 'release'>,
  ) {
    this.#functions = functions;
    this.#serializer = serializer;
    this.#target = target;
    this.#channel = channel;
  }

  /** Runs the function a request names and answers through `control`; after `end()`, answers it as expired. */
  run(request: CallbackRequest, control: CallControl, context: DecodeContext): void {
    if (this.#ended) {
      refuseExpired(request, control, this.#serializer, this.#channel);
      return;
    }
    this.#running.add(request.id);
    this.#invoke(request, context).then(
      (result) => this.#answer(control, request.id, { result }),
      (error: unknown) => this.#answer(control, request.id, { error: callbackErrorBody(error) }),
    );
  }

  /** The call is over: requests still running are answered as expired, and later ones refused. */
  end(control: CallControl | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const id of this.#running) control?.answerCallback(id, { error: EXPIRED_BODY });
    this.#running.clear();
  }

  async #invoke(request: CallbackRequest, context: DecodeContext): Promise<Uint8Array> {
    const [index, args] = callbackRequest(this.#serializer.decode(request.payload, context));
    const callback = this.#functions[index - 1];
    if (callback === undefined) throw new Error(`the call was passed no callback #${index}`);
    const value = await callback(...args);
    return this.#serializer.encode(value, {
      target: this.#target,
      role: 'result',
      onHandle: (handle) => {
        const owner = this.#channel.owner;
        if (handle.owner !== undefined && handle.owner !== owner) {
          throw new HandleError(
            `A callback returned handle ${handle.id} (${handle.type}) of ${handle.owner} to ${owner}; ` +
              'objects cannot move between workers.',
          );
        }
      },
    });
  }

  #answer(control: CallControl, id: number, answer: CallbackAnswer): void {
    // Answered as expired already (the call ended while the function ran): Python has moved on.
    if (!this.#running.delete(id)) return;
    control.answerCallback(id, answer);
  }
}

/** Refuses a callback of a call that has ended, and frees the handles Python made for its arguments. */
export function refuseExpired(
  request: CallbackRequest,
  control: Pick<CallControl, 'answerCallback'>,
  serializer: Serializer,
  channel: Pick<Channel, 'release'>,
): void {
  const handles: number[] = [];
  try {
    serializer.decode(request.payload, { handle: (wire) => handles.push(wire.id) });
  } catch {
    // Undecodable: there is nothing to free.
  }
  if (handles.length > 0) channel.release(handles);
  control.answerCallback(request.id, { error: EXPIRED_BODY });
}

/** The answer to a callback whose call has ended (Python raises HostCallbackError with it). */
export const EXPIRED_BODY: Uint8Array = new TextEncoder().encode(
  JSON.stringify({
    name: 'Error',
    message: 'the call that passed this callback has ended; a callback can be called only while that call runs',
    stack: '',
  }),
);

/** `[index, args]`, as Python sends a callback request. */
function callbackRequest(request: unknown): [number, unknown[]] {
  const [index, args] = Array.isArray(request) ? request : [];
  if (typeof index !== 'number' || !Array.isArray(args)) {
    throw new ProtocolError('Python sent a malformed callback request: its body must be [index, args].');
  }
  return [index, args];
}

/** What Python's HostCallbackError is built from: the JavaScript error's name, message and stack. */
function callbackErrorBody(error: unknown): Uint8Array {
  const encoder = new TextEncoder();
  try {
    const { name, message, stack } =
      error instanceof Error ? error : { name: 'Error', message: String(error), stack: undefined };
    return encoder.encode(JSON.stringify({ name: String(name), message: String(message), stack: String(stack ?? '') }));
  } catch {
    // A thrown value that cannot even be described (a getter or toString that throws): Python must still hear back.
    return encoder.encode(
      JSON.stringify({ name: 'Error', message: 'the callback threw a value that cannot be described' }),
    );
  }
}

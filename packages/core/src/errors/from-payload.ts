// Turns an error described by a worker into the error the caller sees.

import {
  CancelledError,
  ForbiddenError,
  HandleError,
  PipelineError,
  ProtocolError,
  SerializationError,
  SessionError,
} from './errors.js';
import { PythonError, type PythonErrorPayload } from './python-error.js';
import { ErrorCode, type SnakeBridgeError } from './snakebridge-error.js';

/**
 * The error for a payload a worker sent back. The worker marks its own
 * refusals (eval switched off, an unknown handle, an unencodable value) with
 * a bridge `code`; everything else is the user's exception, a PythonError.
 *
 * @param target - the dotted name that was called, for the message
 * @param callSite - an Error captured where the user made the call; its stack
 *   is appended after the Python traceback
 */
export function errorFromPayload(payload: PythonErrorPayload, target: string, callSite?: Error): SnakeBridgeError {
  const error = bridgeError(payload, target) ?? new PythonError(payload, target, callSite);
  if (callSite?.stack !== undefined && !(error instanceof PythonError)) {
    error.stack = `${error.name}: ${error.message}\n${callSite.stack.slice(callSite.stack.indexOf('\n') + 1)}`;
  }
  return error;
}

function bridgeError(payload: PythonErrorPayload, target: string): SnakeBridgeError | undefined {
  const message = `${payload.message} (calling '${target}')`;
  switch (payload.code) {
    case ErrorCode.FORBIDDEN:
      return new ForbiddenError(message);
    case ErrorCode.HANDLE_INVALID:
      return new HandleError(message);
    case ErrorCode.SESSION_INVALID:
      return new SessionError(message);
    case ErrorCode.PIPELINE_BROKEN:
      // The error of the call whose result this one used: the first of the chain.
      return new PipelineError(message, {
        cause: payload.cause ? errorFromPayload(payload.cause, 'the call whose result it uses') : undefined,
      });
    case ErrorCode.SERIALIZATION: {
      // The worker's serializers name themselves first, as `[msgpack] …`: keep that name.
      const named = /^\[([\w-]+)\] ([\s\S]*)$/.exec(message);
      return named
        ? new SerializationError(named[1] as string, named[2] as string)
        : new SerializationError('python', message);
    }
    case ErrorCode.PROTOCOL:
      return new ProtocolError(message);
    case ErrorCode.CANCELLED:
      return new CancelledError(target, 'the worker stopped it while shutting down');
    default:
      return undefined;
  }
}

/**
 * Reads an error payload as a worker or server sends it (UTF-8 JSON with at
 * least `type`, `module` and `message` strings). The bytes are untrusted:
 * anything else is a ProtocolError, never a SyntaxError thrown at the caller.
 *
 * @param from - who sent it, for the message (`Python worker w1`, `server 10.0.0.5:50051`)
 */
export function parseErrorPayload(body: Uint8Array, from: string): PythonErrorPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new ProtocolError(`${from} sent an error whose body is not JSON (${(error as Error).message}).`);
  }
  const fields = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  if (!['type', 'module', 'message'].every((field) => typeof fields[field] === 'string')) {
    throw new ProtocolError(`${from} sent an error that is not an error payload (type, module, message).`);
  }
  return payload as PythonErrorPayload;
}

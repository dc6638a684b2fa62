// Turns a failed RPC (a gRPC status) into the typed error a caller sees, so
// that code written against the stdio adapter catches the same errors here.

import { type ServiceError, status } from '@grpc/grpc-js';
import {
  CancelledError,
  ProtocolError,
  type SnakeBridgeError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
} from '@snakebridge/core';

/** What a status is mapped with: which call, on which server. */
export interface StatusContext {
  /** The call, as error messages name it. */
  readonly description: string;
  /** The server, as error messages name it: `127.0.0.1:50051`, `server w1 (127.0.0.1:41234)`. */
  readonly server: string;
  /** The call's deadline, for a TimeoutError. */
  readonly timeoutMs: number;
}

/** Errors of calls that never reached a server (no connection): safe to send elsewhere, even if not idempotent. */
const NEVER_SENT = new WeakSet<Error>();

/** True if the call failed before any server saw it, so retrying it elsewhere cannot run it twice. */
export function neverSent(error: unknown): boolean {
  return error instanceof Error && NEVER_SENT.has(error);
}

/** The server never agreed on a serializer with us (it restarted): say Hello again and retry. */
export function needsHello(error: unknown): boolean {
  return (error as { grpcCode?: unknown } | null)?.grpcCode === status.FAILED_PRECONDITION;
}

/** True for a failure of the connection or the server process, as opposed to one of the call itself. */
export function isTransportFailure(error: unknown): boolean {
  const code = (error as { grpcCode?: unknown } | null)?.grpcCode;
  return code === status.UNAVAILABLE || code === status.INTERNAL || code === status.UNKNOWN;
}

/** The typed error for a failed RPC. The gRPC error is kept as `cause`, its code as `grpcCode`. */
export function errorFromStatus(error: ServiceError, context: StatusContext): SnakeBridgeError {
  const { description, server } = context;
  const details = error.details || status[error.code];
  const options = { cause: error };
  let typed: SnakeBridgeError;
  switch (error.code) {
    case status.DEADLINE_EXCEEDED:
      typed = new TimeoutError(description, context.timeoutMs, options);
      break;
    case status.CANCELLED:
      typed = new CancelledError(description, details, options);
      break;
    case status.UNAUTHENTICATED:
      typed = new UnauthenticatedError(
        `The gRPC server at ${server} refused '${description}': ${details}. ` +
          'Set grpc.token (or SNAKEBRIDGE_GRPC_TOKEN) to the token the server was started with.',
        options,
      );
      break;
    case status.PERMISSION_DENIED:
      typed = new UnauthenticatedError(
        `The gRPC server at ${server} refused '${description}': ${details}. Check grpc.tls.cert and grpc.tls.key.`,
        options,
      );
      break;
    case status.RESOURCE_EXHAUSTED:
      typed = new ProtocolError(
        `'${description}' was refused by ${server}: ${details}. Raise grpc.maxMessageBytes (and the server's ` +
          '--max-message-bytes), or send the data in parts (return a handle and fetch it piecewise).',
        options,
      );
      break;
    case status.UNAVAILABLE:
      typed = new UnavailableError(
        `The gRPC server at ${server} is unavailable (${details}) for '${description}'. ` +
          'Check that it runs and that grpc.endpoints and grpc.tls are right.',
        server,
        options,
      );
      break;
    case status.UNIMPLEMENTED:
      typed = new ProtocolError(
        `${server} does not serve '${error.details}': is it a SnakeBridge server (python -m snakebridge.server) ` +
          'of the same version as @snakebridge/adapter-grpc?',
        options,
      );
      break;
    default:
      typed = new ProtocolError(
        `'${description}' failed on ${server} with gRPC ${status[error.code]}: ${details}`,
        options,
      );
  }
  Object.defineProperty(typed, 'grpcCode', { value: error.code, enumerable: false });
  if (error.code === status.UNAVAILABLE && /^(\w+: )?No connection established/.test(error.details)) {
    NEVER_SENT.add(typed);
  }
  return typed;
}

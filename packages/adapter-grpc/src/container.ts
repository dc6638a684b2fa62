// Wires the gRPC invoker into a SnakeBridge container (config `invoker: 'grpc'`).

import { invokerModule } from '@snakebridge/core';
import { offloadOptions } from '@snakebridge/offload';
import { GrpcInvoker, type GrpcInvokerOptions } from './grpc-invoker.js';
import { grpcOptions } from './options.js';

/** A gRPC invoker, without a container. */
export function createGrpcInvoker(options: GrpcInvokerOptions): GrpcInvoker {
  return new GrpcInvoker(options);
}

/** Binds INVOKER to a GrpcInvoker using the container's CONFIG, SERIALIZER and LOGGER. */
export const containerModule = invokerModule((dependencies) => createGrpcInvoker(dependencies));

/** The config sections this adapter reads (`grpc`, `offload`): core validates them when it loads the package. */
export const options = [grpcOptions, offloadOptions];

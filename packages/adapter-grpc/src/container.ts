// Wires the gRPC invoker into a SnakeBridge container (config `invoker: 'grpc'`).

import {
  CONFIG,
  INVOKER,
  type Invoker,
  LOGGER,
  type Logger,
  type ResolvedConfig,
  SERIALIZER,
  type Serializer,
} from '@snakebridge/core';
import { ContainerModule } from 'inversify';
import { GrpcInvoker, type GrpcInvokerOptions } from './grpc-invoker.js';

/** A gRPC invoker, without a container. */
export function createGrpcInvoker(options: GrpcInvokerOptions): GrpcInvoker {
  return new GrpcInvoker(options);
}

/** Binds INVOKER to a GrpcInvoker using the container's CONFIG, SERIALIZER and LOGGER. */
export const containerModule = new ContainerModule(({ bind }) => {
  bind<Invoker>(INVOKER).toDynamicValue((context) =>
    createGrpcInvoker({
      config: context.get<ResolvedConfig>(CONFIG),
      serializer: context.get<Serializer>(SERIALIZER),
      logger: context.get<Logger>(LOGGER),
    }),
  );
});

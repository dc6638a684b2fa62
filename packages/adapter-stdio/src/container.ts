// Wires the stdio invoker into a SnakeBridge container (config `invoker: 'stdio'`).

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
import { StdioInvoker, type StdioInvokerOptions } from './stdio-invoker.js';

/** A stdio invoker, without a container. */
export function createStdioInvoker(options: StdioInvokerOptions): StdioInvoker {
  return new StdioInvoker(options);
}

/** Binds INVOKER to a StdioInvoker using the container's CONFIG, SERIALIZER and LOGGER. */
export const containerModule = new ContainerModule(({ bind }) => {
  bind<Invoker>(INVOKER).toDynamicValue((context) =>
    createStdioInvoker({
      config: context.get<ResolvedConfig>(CONFIG),
      serializer: context.get<Serializer>(SERIALIZER),
      logger: context.get<Logger>(LOGGER),
    }),
  );
});

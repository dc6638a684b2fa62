// Wires the stdio invoker into a SnakeBridge container (config `invoker: 'stdio'`).

import { invokerModule } from '@snakebridge/core';
import { offloadOptions } from '@snakebridge/offload';
import { StdioInvoker, type StdioInvokerOptions } from './stdio-invoker.js';

/** A stdio invoker, without a container. */
export function createStdioInvoker(options: StdioInvokerOptions): StdioInvoker {
  return new StdioInvoker(options);
}

/** Binds INVOKER to a StdioInvoker using the container's CONFIG, SERIALIZER and LOGGER. */
export const containerModule = invokerModule((dependencies) => createStdioInvoker(dependencies));

/** The config section this adapter reads (`offload`): core validates it when it loads the package. */
export const options = [offloadOptions];

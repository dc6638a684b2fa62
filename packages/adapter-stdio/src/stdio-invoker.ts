// The stdio Invoker: core's one invoker over the stdio transport, with large
// payloads encoded and decoded off the event loop.

import { JsonSerializer, type Logger, type ResolvedConfig, type Serializer, TransportInvoker } from '@snakebridge/core';
import { offloadOptions, PayloadOffloader } from '@snakebridge/offload';
import type { WorkerPool } from '@snakebridge/process-pool';
import { StdioTransport } from './stdio-transport.js';
import type { StdioWorker } from './worker/stdio-worker.js';

/** What a StdioInvoker is built from. */
export interface StdioInvokerOptions {
  /** The resolved config (`resolveConfig()`); pool, python, timeouts and protocol settings apply. */
  readonly config: ResolvedConfig;
  /** How values are encoded; the worker loads the Python side of the same serializer. @default JSON */
  readonly serializer?: Serializer | undefined;
  /** Where worker output and lifecycle notes go. @default console at config.logLevel */
  readonly logger?: Logger | undefined;
}

/** Calls Python in pooled worker processes over pipes. */
export class StdioInvoker extends TransportInvoker<StdioWorker> {
  /** The worker pool: `stats()`, `health()`, and lifecycle events with `on()`. */
  readonly pool: WorkerPool<StdioWorker>;

  constructor(options: StdioInvokerOptions) {
    const { config } = options;
    const serializer = options.serializer ?? new JsonSerializer();
    const transport = new StdioTransport({ config, serializer, logger: options.logger });
    const codec = new PayloadOffloader({ serializer, ...offloadOptions.resolve(config) });
    super({ transport, config, serializer, codec });
    this.pool = transport.channels;
  }
}

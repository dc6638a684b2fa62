// The stdio Transport: Python worker processes spoken to over pipes, pooled
// and supervised by the shared WorkerPool. Everything else a call needs is
// done by core's TransportInvoker.

import {
  consoleLogger,
  type Logger,
  type ResolvedConfig,
  type Serializer,
  type Transport,
  toLogger,
} from '@snakebridge/core';
import { findPython, PythonLauncher, WorkerPool } from '@snakebridge/process-pool';
import { StdioWorker } from './worker/stdio-worker.js';

/** What a StdioTransport is built from. */
export interface StdioTransportOptions {
  /** The resolved config: pool, python, protocol, limits, security and timeouts settings apply. */
  readonly config: ResolvedConfig;
  /** The serializer the workers load the Python side of. */
  readonly serializer: Serializer;
  /** Where worker output and lifecycle notes go. @default console at config.logLevel */
  readonly logger?: Logger | undefined;
}

/** Pooled Python worker processes over pipes. */
export class StdioTransport implements Transport<StdioWorker> {
  readonly kind = 'stdio';
  /** The worker pool: `stats()`, `health()`, and lifecycle events with `on()`. */
  readonly channels: WorkerPool<StdioWorker>;

  constructor(options: StdioTransportOptions) {
    const { config, serializer } = options;
    const logger = options.logger ? toLogger(options.logger) : consoleLogger(config.logLevel);
    // Forks the workers from one warmed-up Python process where it can (docs/operations.md, "Fork server").
    const launcher = new PythonLauncher({ config, serializer: serializer.id, logger });
    this.channels = new WorkerPool<StdioWorker>({
      factory: async (workerId, hooks) => {
        const python = await findPython(config.python);
        return StdioWorker.start({ workerId, python, config, serializer, logger, hooks, launcher });
      },
      onClosed: () => launcher.close(),
      settings: config.pool,
      shutdownGraceMs: config.timeouts.shutdownGraceMs,
      logger,
      name: 'stdio pool',
      watch: config.python.reload ? config.python.path : undefined,
    });
  }
}

// Every default in one place. docs/operations.md lists the same values.

import { availableParallelism } from 'node:os';
import type { ResolvedConfig } from './types.js';

/** The defaults, before the config, its environment and env vars are applied. */
export function defaultConfig(environment: string): ResolvedConfig {
  return {
    environment,
    invoker: 'stdio',
    serializer: 'msgpack',
    python: {
      executable: undefined,
      venv: undefined,
      cwd: undefined,
      env: {},
      path: [],
      reload: false,
      output: {
        stdout: 'info',
        stderr: 'warn',
        progress: 'info',
        logging: 'info',
        progressIntervalMs: 1_000,
        partialLineMs: 100,
        maxLineBytes: 64 * 1024,
        escapes: 'strip',
        invalidUtf8: 'escape',
      },
    },
    pool: {
      min: 1,
      max: availableParallelism(),
      maxConcurrency: 64,
      queueSize: 100_000,
      acquireTimeoutMs: 30_000,
      start: 'lazy',
      preload: [],
      forkServer: true,
      threads: 0,
      maxCallsPerWorker: 0,
      maxRssBytes: 0,
      ttlMs: 0,
      idleTimeoutMs: 60_000,
      pingIntervalMs: 5_000,
      pingTimeoutMs: 5_000,
      maxMissedPings: 3,
      hostTimeoutMs: 60_000,
      restart: { maxRestarts: 3, windowMs: 60_000, backoffMs: 100, maxBackoffMs: 5_000, probeAfterMs: 10_000 },
      limits: { addressSpaceBytes: undefined, cpuSeconds: undefined },
      retries: 2,
    },
    timeouts: { callMs: 0, startMs: 30_000, cancelGraceMs: 2_000, shutdownGraceMs: 5_000 },
    handles: { maxPerSession: 10_000, ttlMs: 30 * 60_000 },
    streams: { window: 64 },
    protocol: { maxFrameBytes: 256 * 1024 * 1024 },
    offload: {},
    security: {
      allowEval: true,
      allowedModules: undefined,
      allowUnsafeModules: false,
      sandbox: { enabled: false, writablePaths: [], network: false },
    },
    logLevel: 'info',
    // Adapter sections: each package has its own defaults (defineAdapterOptions).
    grpc: {},
    mock: {},
    protobuf: {},
    bindings: {
      modules: [],
      out: 'python-types',
      lockfile: 'snakebridge.lock.json',
      ints: 'number',
      budgetMs: 15_000,
      minCoverage: 0.8,
      guard: 'off',
    },
  };
}

// How a pool starts its Python processes: forked by the pool's fork server
// where that gives the same worker as a spawn would (Linux, pool.forkServer,
// no OS sandbox), else spawned. The server is started with the first worker,
// restarted after it dies, and given up for spawning after failed starts;
// a fork that fails starts that worker by spawning it. docs/operations.md,
// "Fork server".

import type { Logger, ResolvedConfig } from '@snakebridge/core';
import { ForkServer } from '../fork-server/fork-server.js';
import { WORKER_FDS } from '../fork-server/messages.js';
import { PythonProcess, type PythonProcessOptions } from './python-process.js';

/** Failed starts of the fork server in a row before the pool spawns its workers for good. */
const MAX_FAILED_STARTS = 3;

/** What a PythonLauncher is built from. */
export interface PythonLauncherOptions {
  /** `pool.forkServer`, `security.sandbox`, `python` and `timeouts.startMs` apply. */
  readonly config: ResolvedConfig;
  /** The serializer the workers load: the fork server imports its Python side before forking. */
  readonly serializer: string;
  /** Where the fork server's output and the launcher's notes go. */
  readonly logger: Logger;
  /** The platform to decide for. @default process.platform */
  readonly platform?: NodeJS.Platform | undefined;
}

/**
 * Why a pool with these settings spawns its workers rather than fork them, or
 * undefined when it forks them: a forked worker must be the worker a spawn
 * would have started.
 */
export function whySpawn(config: ResolvedConfig, platform: NodeJS.Platform = process.platform): string | undefined {
  if (!config.pool.forkServer) return 'pool.forkServer is false';
  // fork() without exec is only safe where the interpreter and its libraries expect it: macOS frameworks do not.
  if (platform !== 'linux') return `the fork server runs on Linux only (this is ${platform})`;
  // A sandboxed worker starts from a fresh exec, with nothing inherited from a process outside the sandbox.
  if (config.security.sandbox.enabled) return 'security.sandbox is on';
  return undefined;
}

/** Starts the Python processes of one pool; see the file comment. */
export class PythonLauncher {
  readonly #options: PythonLauncherOptions;
  /** Why this pool spawns, or undefined if it forks. */
  readonly spawnReason: string | undefined;
  #server: Promise<ForkServer | undefined> | undefined;
  #failedStarts = 0;
  #closed = false;

  constructor(options: PythonLauncherOptions) {
    this.#options = options;
    this.spawnReason = whySpawn(options.config, options.platform);
  }

  /** Starts one process as `options` say: forked when this pool forks and its fork server works, else spawned. */
  async launch(options: PythonProcessOptions): Promise<PythonProcess> {
    // A forked worker has the stdio worker's channels (WORKER_FDS) only: one that needs more (a records fd) spawns.
    const forkable = options.recordsFd === undefined && 2 + (options.extraPipes ?? 2) <= Math.max(...WORKER_FDS);
    if (this.spawnReason === undefined && forkable) {
      // A server that dies during the fork is replaced, and the fork tried once more there; any other failure spawns.
      for (let tries = 2; tries > 0; tries--) {
        const server = await this.#forkServer(options.executable);
        if (server === undefined) break;
        try {
          return await server.fork(options);
        } catch (error) {
          if (!server.alive && tries > 1) continue;
          this.#options.logger.warn(`${(error as Error).message}; spawning it instead`, { workerId: options.workerId });
          break;
        }
      }
    }
    return new PythonProcess(options);
  }

  /** Stops the fork server, once the pool's workers have stopped. */
  async close(): Promise<void> {
    this.#closed = true;
    const server = await this.#server;
    this.#server = undefined;
    await server?.close();
  }

  /** The running fork server, started if need be (once, for launches at the same time); undefined if none can be had. */
  async #forkServer(executable: string): Promise<ForkServer | undefined> {
    if (this.#closed || this.#failedStarts >= MAX_FAILED_STARTS) return undefined;
    const current = this.#server ?? this.#start(executable);
    this.#server = current;
    const server = await current;
    if (server?.alive) return server;
    // It failed to start (this launch spawns; the next one tries again), or it died, its workers with it (the
    // first launch to see that starts the next server; launches at the same time wait for that one).
    if (this.#server === current) this.#server = undefined;
    return server === undefined ? undefined : this.#forkServer(executable);
  }

  async #start(executable: string): Promise<ForkServer | undefined> {
    const { config, serializer, logger } = this.#options;
    let server: ForkServer;
    try {
      server = await ForkServer.start({
        executable,
        settings: config.python,
        serializer,
        logger,
        startMs: config.timeouts.startMs,
      });
    } catch (error) {
      this.#failedStarts += 1;
      const after = this.#failedStarts >= MAX_FAILED_STARTS ? 'spawning workers from now on' : 'spawning this worker';
      logger.warn(`the fork server failed to start (${(error as Error).message}); ${after}`);
      return undefined;
    }
    this.#failedStarts = 0;
    void server.exited.then((exit) => {
      if (this.#closed) return;
      // Its workers died with it; the pool replaces them, and the first of them starts a new server.
      logger.warn(
        `the fork server (pid ${server.pid}) ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`}, ` +
          'and its workers with it; the next worker starts a new one',
      );
    });
    return server;
  }
}

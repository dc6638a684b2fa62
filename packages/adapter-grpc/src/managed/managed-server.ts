// A Python gRPC server this host starts and supervises (managed mode): one
// `python -m snakebridge.server` process on a free loopback port, pooled by
// the shared WorkerPool like a stdio worker. It reports readiness on fd 3 once
// it serves, exits when fd 4 (its lifeline) reaches end of file, so it never
// outlives the host, and writes its `logging` records on fd 5. When it dies,
// every call in flight on it fails at once with WorkerCrashedError.

import {
  type CallControl,
  type CallEvents,
  CancelledError,
  type OutboundCall,
  type PythonLoggingLevel,
  type ResolvedConfig,
  type SnakeBridgeError,
  WorkerCrashedError,
  type WorkerExit,
} from '@snakebridge/core';
import {
  describeEarlyExit,
  type ProcessExit,
  PythonProcess,
  type PythonWorkerOptions,
  type SupervisedWorker,
  sandboxOptions,
  versionGuard,
  type WorkerHealth,
} from '@snakebridge/process-pool';
import { grpcOptions } from '../options.js';
import type { GrpcChannel } from '../target.js';
import { BridgeConnection } from '../wire/connection.js';
import { localSecurity } from '../wire/credentials.js';
import { isTransportFailure } from '../wire/status.js';

/** Server to host: one JSON line, `{"port", "pid"}`, once it serves. */
const FD_READY = 3;
/** Host to server: never written; its end of file tells the server to leave. */
const FD_LIFELINE = 4;
/** Server to host: its `logging` records, one JSON object per line (docs/protocol.md, "Log records"). */
const FD_LOG = 5;
/** How long a failed RPC waits to learn whether the server process died (to say WorkerCrashedError). */
const CRASH_CONFIRM_MS = 1_000;

/** What a ManagedServer is started with. */
export interface ManagedServerOptions extends PythonWorkerOptions {
  /** A secret of this host's: other local users cannot call a server bound to loopback without it. */
  readonly token: string;
}

/** A local `python -m snakebridge.server` process, supervised by the WorkerPool like a stdio worker. */
export class ManagedServer implements SupervisedWorker, GrpcChannel {
  readonly id: string;
  readonly exited: Promise<WorkerExit>;
  readonly #options: ManagedServerOptions;
  readonly #process: PythonProcess;
  #connection: BridgeConnection | undefined;
  #stopping = false;

  /** Spawns a server and resolves once it serves and has agreed on the serializer. */
  static async start(options: ManagedServerOptions): Promise<ManagedServer> {
    const server = new ManagedServer(options);
    options.hooks?.spawned(server.pid);
    await server.#boot();
    return server;
  }

  private constructor(options: ManagedServerOptions) {
    this.id = options.workerId;
    this.#options = options;
    const logging = options.config.python.output.logging !== 'off';
    this.#process = new PythonProcess({
      executable: options.python.executable,
      args: ['-m', 'snakebridge.server', ...serverArguments(options.config)],
      settings: options.config.python,
      workerId: options.workerId,
      logger: options.logger,
      label: `gRPC server ${options.workerId}`,
      // fd 5 only when the server is told to write its records there: an unread pipe would fill and block it.
      extraPipes: logging ? 3 : 2,
      recordsFd: logging ? FD_LOG : undefined,
      // The token goes by environment, not argv, which any local user can read with ps.
      env: { SNAKEBRIDGE_TOKEN: options.token },
    });
    // A pipe error means the server is gone; its exit is handled below. Never let it throw in the host.
    this.#process.pipe(FD_READY).on('error', () => {});
    this.#process.pipe(FD_LIFELINE).on('error', () => {});
    if (logging) this.#process.pipe(FD_LOG).on('error', () => {});
    this.exited = this.#process.exited.then((exit) => this.#onExit(exit));
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get owner(): string {
    return this.id;
  }

  get instance(): string | undefined {
    return this.#connection?.instance;
  }

  /** Where it listens, once it does. */
  get address(): string | undefined {
    return this.#connection?.address;
  }

  /** RPCs in flight on it. */
  get inFlight(): number {
    return this.#connection?.inFlight ?? 0;
  }

  // --- calls ------------------------------------------------------------------------------------

  /** False once it can take no new call: it is stopping, or its process has exited. */
  get accepting(): boolean {
    return this.#usable() !== undefined;
  }

  send(call: OutboundCall, events: CallEvents): CallControl {
    const connection = this.#usable();
    if (connection === undefined) {
      events.fail(this.#crashed(call.description));
      return { credit: () => {}, cancel: () => {}, answerCallback: () => {} };
    }
    return connection.send(call, events, call.pinned ? connection.instance : undefined);
  }

  release(handles: readonly number[], session?: string): void {
    const connection = this.#usable();
    connection?.release(handles, session, connection.instance).catch((error: unknown) => {
      this.#options.logger.debug(`releasing on server ${this.id} failed: ${String(error)}`, { workerId: this.id });
    });
  }

  // --- supervision ---------------------------------------------------------------------------------

  /** A health reading through the Stats RPC, answered by the server's event loop even while sync code runs. */
  async ping(timeoutMs: number): Promise<WorkerHealth> {
    const connection = this.#usable();
    if (connection === undefined) throw new Error('the server has exited');
    const stats = await connection.stats(timeoutMs);
    return { rssBytes: stats.rss, handles: stats.handles };
  }

  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const connection = this.#connection;
    if (connection !== undefined && this.#process.alive) {
      // Calls in flight may finish, within the grace period.
      await Promise.race([connection.idle(), delay(graceMs), this.exited]);
    }
    // End of file on its lifeline: the server stops at once and exits.
    this.#process.pipe(FD_LIFELINE).end();
    await this.#process.terminate(1_000);
  }

  kill(reason: string): void {
    this.#process.kill(reason);
  }

  // --- start and exit ---------------------------------------------------------------------------------

  async #boot(): Promise<void> {
    const { config, serializer, token } = this.#options;
    const startMs = config.timeouts.startMs;
    const startedAt = Date.now();
    const ready = await this.#readyLine(startMs);
    let failure: string;
    if ('port' in ready) {
      const address = `127.0.0.1:${ready.port}`;
      const connection = new BridgeConnection({
        address,
        label: `server ${this.id} (${address})`,
        security: localSecurity(grpcOptions.resolve(config), token),
        serializer,
        maxMessageBytes: grpcOptions.resolve(config).maxMessageBytes,
        onError: (error, description) => this.#translate(error, description),
      });
      this.#connection = connection;
      try {
        await connection.hello(Math.max(1_000, startMs - (Date.now() - startedAt)));
        return;
      } catch (error) {
        failure = (error as Error).message;
      }
    } else {
      failure = ready.failure;
    }
    throw await this.#process.startFailed(failure, this.#stopping ? 'stopping' : undefined);
  }

  /** The port from the ready line, or what went wrong first. */
  #readyLine(startMs: number): Promise<{ port: number } | { failure: string }> {
    return new Promise((resolve) => {
      const pipe = this.#process.pipe(FD_READY);
      let text = '';
      const finish = (outcome: { port: number } | { failure: string }): void => {
        clearTimeout(timer);
        pipe.removeAllListeners('data');
        pipe.destroy();
        resolve(outcome);
      };
      const timer = setTimeout(
        () => finish({ failure: `no ready line within ${startMs} ms (timeouts.startMs)` }),
        startMs,
      );
      pipe.setEncoding('utf8');
      pipe.on('data', (chunk: string) => {
        text += chunk;
        const end = text.indexOf('\n');
        if (end === -1) return;
        try {
          const line = JSON.parse(text.slice(0, end)) as { port?: unknown };
          if (typeof line.port !== 'number') throw new Error('no port');
          finish({ port: line.port });
        } catch {
          finish({ failure: `it wrote an unreadable ready line: ${text.slice(0, end)}` });
        }
      });
      void this.#process.exited.then((exit) => finish({ failure: describeEarlyExit(exit) }));
    });
  }

  async #onExit(exit: ProcessExit): Promise<WorkerExit> {
    await this.#process.stderrSettled();
    const info = this.#exitInfo(exit);
    this.#connection?.failAll((description) => this.#ended(description, info, undefined));
    this.#connection?.close();
    return info;
  }

  /** A failed RPC: if the process died, that is the story (WorkerCrashedError, with its exit and stderr). */
  async #translate(error: SnakeBridgeError, description: string): Promise<Error> {
    if (this.#stopping && CancelledError.is(error)) return this.#ended(description, undefined, error);
    if (!isTransportFailure(error) && this.#process.alive) return error;
    const exit = await Promise.race([this.exited, delay(CRASH_CONFIRM_MS).then(() => undefined)]);
    return exit === undefined ? error : this.#ended(description, exit, error);
  }

  /** What a call still running when the server went away gets: stopped by us (shutdown), or a crash. */
  #ended(description: string, exit: WorkerExit | undefined, cause: Error | undefined): Error {
    if (this.#stopping && this.#process.killReason === undefined) {
      return new CancelledError(description, 'the gRPC server stopped it while shutting down', { cause });
    }
    return new WorkerCrashedError(description, exit ?? this.#exitInfo(undefined), { cause });
  }

  #usable(): BridgeConnection | undefined {
    return this.#process.alive && !this.#stopping ? this.#connection : undefined;
  }

  #crashed(description: string): WorkerCrashedError {
    return new WorkerCrashedError(description, this.#exitInfo(undefined));
  }

  #exitInfo(exit: ProcessExit | undefined): WorkerExit {
    return this.#process.exitInfo(exit, this.#stopping ? 'stopping' : undefined);
  }
}

/** The server's command line for this config: what the stdio worker gets in its HELLO. */
export function serverArguments(config: ResolvedConfig): string[] {
  const { pool, handles, security, timeouts } = config;
  const grpc = grpcOptions.resolve(config);
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--ready-fd',
    String(FD_READY),
    '--lifeline-fd',
    String(FD_LIFELINE),
    '--threads',
    String(pool.threads),
    '--max-message-bytes',
    String(grpc.maxMessageBytes),
    '--max-handles-per-session',
    String(handles.maxPerSession),
    '--handle-ttl-ms',
    String(handles.ttlMs),
    // The server leaves if a cancelled call will not stop: the pool then replaces it, as stdio's host would.
    '--cancel-grace-ms',
    String(timeouts.cancelGraceMs),
    security.allowEval ? '--allow-eval' : '--no-allow-eval',
    '--log-level',
    config.logLevel === 'debug' ? 'DEBUG' : 'WARNING',
  ];
  const records = config.python.output.logging;
  // Its `logging` records come to the host's logger on fd 5, as a stdio worker's come in LOG frames.
  if (records !== 'off') args.push('--log-fd', String(FD_LOG), '--log-records', SERVER_LOG_LEVELS[records]);
  for (const module of security.allowedModules ?? []) args.push('--allowed-module', module);
  // An empty allowlist allows nothing; a name no module has says so.
  if (security.allowedModules?.length === 0) args.push('--allowed-module', '');
  if (security.allowUnsafeModules) args.push('--allow-unsafe-modules');
  const sandbox = sandboxOptions(security.sandbox);
  if (sandbox !== null) {
    args.push('--sandbox');
    for (const path of sandbox.writablePaths) args.push('--sandbox-writable', path);
    if (sandbox.network) args.push('--sandbox-network');
  }
  for (const module of pool.preload) args.push('--preload', module);
  if (pool.limits.addressSpaceBytes !== undefined) {
    args.push('--limit-address-space-bytes', String(pool.limits.addressSpaceBytes));
  }
  if (pool.limits.cpuSeconds !== undefined) args.push('--limit-cpu-seconds', String(pool.limits.cpuSeconds));
  const guard = versionGuard(config.bindings);
  if (guard.lockfile !== undefined) args.push('--lockfile', guard.lockfile, '--version-guard', guard.versionGuard);
  return args;
}

/** The server's `--log-records` for each `python.output.logging`. */
const SERVER_LOG_LEVELS: Readonly<Record<Exclude<PythonLoggingLevel, 'off'>, string>> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The resolved config: every setting present, validated. What adapters receive.

import type { LogLevel } from '../logger/logger.js';
import type { AdapterSectionSettings } from './adapter-options.js';
import type { EscapeMode, InvalidUtf8Mode, InvokerName, PythonLoggingLevel, SerializerName } from './schema.js';

/**
 * What becomes of a worker's stdout, stderr and Python `logging` records: log
 * records with the fields `workerId`, `workerPid` and `stream`
 * (docs/observability.md, "Worker output"). Workers and managed gRPC servers alike.
 */
export interface OutputSettings {
  /** Level of the records made from stdout lines; `silent` drops them. @default 'info' */
  readonly stdout: LogLevel;
  /** Level of the records made from stderr lines; `silent` drops them. @default 'warn' */
  readonly stderr: LogLevel;
  /**
   * Level of the records of a line redrawn with '\r' (tqdm and the like): its
   * updates while it is drawn and its final state, whichever stream it is on. @default 'info'
   */
  readonly progress: LogLevel;
  /**
   * Python `logging` records at this level and above reach the host as
   * records, with their level and logger name: the runtime installs a handler
   * on the root logger at start and sets the root's level to this. `off`
   * installs nothing (records then go wherever Python's logging sends them,
   * stderr by default). @default 'info'
   */
  readonly logging: PythonLoggingLevel;
  /** At most one progress record per stream this often, always the latest state; 0: every redraw. @default 1000 */
  readonly progressIntervalMs: number;
  /** Text without a newline is passed on after this long without more output (a quiet period); 0: at once. @default 100 */
  readonly partialLineMs: number;
  /**
   * Longest line (or `logging` message) passed on, in bytes: the rest of it is
   * dropped and the record marked `cut`, so a worker that writes without a
   * newline cannot grow the host's memory. @default 65536
   */
  readonly maxLineBytes: number;
  /**
   * ANSI escape sequences and other control characters (not tabs, nor the
   * newlines of a `logging` message): `strip` removes them, `escape` shows
   * them as `\x1b`, `keep` passes them on, so a worker can drive the host's terminal. @default 'strip'
   */
  readonly escapes: EscapeMode;
  /** Bytes that are not UTF-8: `escape` shows them as `\xff`, `replace` as U+FFFD, `strip` removes them. @default 'escape' */
  readonly invalidUtf8: InvalidUtf8Mode;
}

export interface PythonSettings {
  /** Interpreter to run. @default `SNAKEBRIDGE_PYTHON`, else `.venv/bin/python` if present, else `python3` */
  readonly executable: string | undefined;
  /** A virtual environment whose interpreter to run (`<venv>/bin/python`). @default undefined */
  readonly venv: string | undefined;
  /** Working directory of the workers. @default the host's cwd */
  readonly cwd: string | undefined;
  /** Extra environment variables for the workers. @default {} */
  readonly env: Readonly<Record<string, string>>;
  /** Extra import paths, prepended to PYTHONPATH, so your own modules can be called. @default [] */
  readonly path: readonly string[];
  /**
   * Live reload, for development: when a `.py` file under `path` changes, the
   * workers are replaced between calls (a `recycle` event with reason
   * `reload`), so the next call runs the new code. Sessions on a replaced
   * worker are lost: their next call fails with SessionError. Refused in the
   * `production` environment. @default false
   */
  readonly reload: boolean;
  /** What becomes of the workers' stdout, stderr and `logging` records. */
  readonly output: OutputSettings;
}

export interface RestartSettings {
  /** Restarts allowed within `windowMs` before the circuit opens. @default 3 */
  readonly maxRestarts: number;
  /** @default 60000 */
  readonly windowMs: number;
  /** First restart delay; doubles on each consecutive failure, with jitter. @default 100 */
  readonly backoffMs: number;
  /** @default 5000 */
  readonly maxBackoffMs: number;
  /** How long the circuit stays open before a probe worker is tried. @default 10000 */
  readonly probeAfterMs: number;
}

export interface LimitSettings {
  /** RLIMIT_AS of each worker in bytes. @default undefined (no limit) */
  readonly addressSpaceBytes: number | undefined;
  /** RLIMIT_CPU of each worker in CPU seconds. @default undefined (no limit) */
  readonly cpuSeconds: number | undefined;
}

export interface PoolSettings {
  /** Workers kept running. @default 1 */
  readonly min: number;
  /** Most workers at once. @default one per core (`os.availableParallelism()`) */
  readonly max: number;
  /** Calls one worker runs at once. @default 64 */
  readonly maxConcurrency: number;
  /**
   * Calls allowed to wait for a free worker before PoolExhaustedError. Each waiting call holds its
   * encoded arguments (a small call: a few hundred bytes), so the bound is memory. @default 100000
   */
  readonly queueSize: number;
  /** Longest wait for a free worker; 0 waits for ever. @default 30000 */
  readonly acquireTimeoutMs: number;
  /** `eager` starts `min` workers in createBridge; `lazy` on the first call. @default 'lazy' */
  readonly start: 'eager' | 'lazy';
  /** Modules each worker imports before it takes calls. @default [] */
  readonly preload: readonly string[];
  /**
   * Linux: start workers by forking a warmed-up Python process (the fork server:
   * the runtime and the serializer already imported) instead of starting an
   * interpreter for each; a pool grows, or replaces a crashed worker, in a few
   * milliseconds. Ignored elsewhere, and with the OS sandbox on (those workers
   * are spawned). docs/operations.md, "Fork server". @default true
   */
  readonly forkServer: boolean;
  /** Threads for sync calls in each worker; 0 runs them in order on the main thread. @default 0 */
  readonly threads: number;
  /** Recycle a worker after this many calls; 0 never. @default 0 */
  readonly maxCallsPerWorker: number;
  /** Recycle a worker whose Python process's resident memory passes this; 0 never. @default 0 */
  readonly maxRssBytes: number;
  /** Recycle a worker this long after it started; 0 never. @default 0 */
  readonly ttlMs: number;
  /** Stop a worker idle this long, down to `min`; 0 never. @default 60000 */
  readonly idleTimeoutMs: number;
  /** Health ping period; 0 switches pings off. @default 5000 */
  readonly pingIntervalMs: number;
  /** @default 5000 */
  readonly pingTimeoutMs: number;
  /** Missed pings in a row before a worker is replaced. @default 3 */
  readonly maxMissedPings: number;
  /** A worker exits by itself when the host has not answered its heartbeat for this long; 0 never. @default 60000 */
  readonly hostTimeoutMs: number;
  readonly restart: RestartSettings;
  readonly limits: LimitSettings;
  /** Retries of an idempotent call whose worker died under it. @default 2 */
  readonly retries: number;
}

export interface TimeoutSettings {
  /** Default deadline of a call; 0 means none. @default 0 */
  readonly callMs: number;
  /** Longest a worker may take to start and answer the handshake. @default 30000 */
  readonly startMs: number;
  /** After a cancel, how long a sync call may take to stop before its worker is killed. @default 2000 */
  readonly cancelGraceMs: number;
  /** On close, how long calls in flight may run on before workers get SIGTERM, then SIGKILL. @default 5000 */
  readonly shutdownGraceMs: number;
}

export interface HandleSettings {
  /** Live handles one session may hold in a worker. @default 10000 */
  readonly maxPerSession: number;
  /** A handle unused this long is freed in the worker; 0 never. @default 1800000 (30 minutes) */
  readonly ttlMs: number;
}

export interface SandboxSettings {
  /** Run each worker (and managed gRPC server) in the OS sandbox (docs/security.md). @default false */
  readonly enabled: boolean;
  /** Paths (and what is below them) the workers may write; everything else is read-only. @default [] */
  readonly writablePaths: readonly string[];
  /** Let the workers open network sockets (other than Unix sockets). @default false */
  readonly network: boolean;
}

export interface SecuritySettings {
  /** Allow `bridge.eval` / `bridge.exec` of code strings. @default true, or false when `allowedModules` is set */
  readonly allowEval: boolean;
  /** If set, only these modules (and their submodules) can be called. @default undefined (any) */
  readonly allowedModules: readonly string[] | undefined;
  /**
   * Let `allowedModules` name a module that walks or loads arbitrary objects or
   * code (operator, builtins, importlib, pickle, os, sys, …), which restricted
   * mode refuses otherwise. @default false
   */
  readonly allowUnsafeModules: boolean;
  readonly sandbox: SandboxSettings;
}

/** Typed bindings: what `snakebridge types` generates, and the runtime guard against drift (docs/typing.md). */
export interface BindingsSettings {
  /** Python modules to generate declarations for, by dotted name. @default [] */
  readonly modules: readonly string[];
  /** Directory the declarations are written to. @default 'python-types' */
  readonly out: string;
  /** The lockfile recording the interpreter, package versions and signature hashes. @default 'snakebridge.lock.json' */
  readonly lockfile: string;
  /** How Python ints are typed in results: `number`, or exactly as `number | bigint`. @default 'number' */
  readonly ints: 'number' | 'bigint';
  /** Longest introspection of one module, import included; past it, the rest is left untyped. @default 15000 */
  readonly budgetMs: number;
  /** Share of fully typed callables below which `snakebridge types --strict` fails. @default 0.8 */
  readonly minCoverage: number;
  /**
   * At start, each worker compares the lockfile's package versions with what
   * it imports: `warn` logs, `error` refuses to start. @default 'off'
   */
  readonly guard: 'off' | 'warn' | 'error';
}

/** Every setting, resolved: defaults, then the config, then its environment's overrides, then env vars. */
export interface ResolvedConfig {
  /** The environment whose overrides were applied. */
  readonly environment: string;
  /** @default 'stdio' (`'mock'` in the `test` environment only if you say so) */
  readonly invoker: InvokerName;
  /** @default 'msgpack' (`json` is built into core and needs no package on either side) */
  readonly serializer: SerializerName;
  readonly python: PythonSettings;
  readonly pool: PoolSettings;
  readonly timeouts: TimeoutSettings;
  readonly handles: HandleSettings;
  readonly streams: {
    /** Items a generator may run ahead of its consumer. @default 64 */
    readonly window: number;
  };
  readonly protocol: {
    /** Largest frame either side accepts, in bytes. @default 256 MiB */
    readonly maxFrameBytes: number;
  };
  readonly security: SecuritySettings;
  /** @default 'info' */
  readonly logLevel: LogLevel;
  /** The adapter packages' sections, as merged; each package validates its own (`defineAdapterOptions`). */
  readonly grpc: AdapterSectionSettings;
  readonly mock: AdapterSectionSettings;
  readonly protobuf: AdapterSectionSettings;
  readonly offload: AdapterSectionSettings;
  readonly bindings: BindingsSettings;
}

/** Container token of the ResolvedConfig. */
export const CONFIG = Symbol.for('@snakebridge/core/Config');

// The shape of a SnakeBridge config, validated at the edge (defineConfig /
// createBridge) and trusted everywhere after. Defaults live in defaults.ts.

import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
/** A duration in milliseconds; 0 switches the feature off where noted. */
const millis = z.number().int().nonnegative();

/** Built-in invoker names; each maps to an adapter package (see adapters.ts). */
export const INVOKER_NAMES = ['stdio', 'grpc', 'mock'] as const;
/** Built-in serializer names. */
export const SERIALIZER_NAMES = ['json', 'msgpack', 'arrow', 'protobuf'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
/** How a worker's ANSI escape sequences and other control characters reach the logger. */
export const ESCAPE_MODES = ['strip', 'escape', 'keep'] as const;
/** How bytes of a worker's output that are not UTF-8 reach the logger. */
export const INVALID_UTF8_MODES = ['escape', 'replace', 'strip'] as const;
/** The least Python `logging` level forwarded to the host, or `off` to leave Python's logging alone. */
export const PYTHON_LOGGING_LEVELS = ['debug', 'info', 'warn', 'error', 'off'] as const;

const outputSchema = z.strictObject({
  /** Level of the records made from each stream's lines; `silent` drops them. */
  stdout: z.enum(LOG_LEVELS).optional(),
  stderr: z.enum(LOG_LEVELS).optional(),
  /** Level of the records of a line redrawn with '\r' (a progress bar), whichever stream it is on. */
  progress: z.enum(LOG_LEVELS).optional(),
  /** Python `logging` records at this level and above reach the host as records; `off` installs no handler. */
  logging: z.enum(PYTHON_LOGGING_LEVELS).optional(),
  /** At most one progress record per stream this often (the latest state); 0: every redraw. */
  progressIntervalMs: millis.optional(),
  /** Text without a newline is passed on after this long without more output; 0: at once. */
  partialLineMs: millis.optional(),
  /** Longest line or log message passed on, in bytes; the rest of it is dropped and the record marked `cut`. */
  maxLineBytes: z.number().int().min(256).optional(),
  /** ANSI escape sequences and other control characters: removed, shown as `\x1b`, or passed as they are. */
  escapes: z.enum(ESCAPE_MODES).optional(),
  /** Bytes that are not UTF-8: shown as `\xff`, replaced by U+FFFD, or removed. */
  invalidUtf8: z.enum(INVALID_UTF8_MODES).optional(),
});

const pythonSchema = z.strictObject({
  /** Interpreter to run: a path or a name on PATH. */
  executable: z.string().min(1).optional(),
  /** A virtual environment whose interpreter to run (`<venv>/bin/python`). */
  venv: z.string().min(1).optional(),
  /** Working directory of the workers. */
  cwd: z.string().min(1).optional(),
  /** Extra environment variables for the workers. */
  env: z.record(z.string(), z.string()).optional(),
  /** Extra import paths, prepended to PYTHONPATH, so that your own modules can be called. */
  path: z.array(z.string()).optional(),
  /** Development: replace the workers when a .py file under `path` changes. Refused in production. */
  reload: z.boolean().optional(),
  /** What becomes of the workers' stdout, stderr and `logging` records (docs/observability.md). */
  output: outputSchema.optional(),
});

const restartSchema = z.strictObject({
  /** Restarts allowed within `windowMs` before the circuit opens. */
  maxRestarts: nonNegativeInt.optional(),
  windowMs: positiveInt.optional(),
  /** First restart delay; doubles on each consecutive failure, with jitter. */
  backoffMs: millis.optional(),
  maxBackoffMs: millis.optional(),
  /** How long the circuit stays open before a probe worker is tried. */
  probeAfterMs: positiveInt.optional(),
});

const limitsSchema = z.strictObject({
  /** RLIMIT_AS for each worker, in bytes. */
  addressSpaceBytes: positiveInt.optional(),
  /** RLIMIT_CPU for each worker, in seconds of CPU time. */
  cpuSeconds: positiveInt.optional(),
});

const poolSchema = z.strictObject({
  min: nonNegativeInt.optional(),
  max: positiveInt.optional(),
  /** Calls one worker runs at once (async Python functions interleave; sync ones queue in the worker). */
  maxConcurrency: positiveInt.optional(),
  /** Calls allowed to wait for a free worker before PoolExhaustedError. */
  queueSize: nonNegativeInt.optional(),
  /** Longest wait for a free worker; 0 waits for ever. */
  acquireTimeoutMs: millis.optional(),
  /** `eager` starts `min` workers in createBridge; `lazy` on the first call. */
  start: z.enum(['eager', 'lazy']).optional(),
  /** Modules each worker imports before taking calls. */
  preload: z.array(z.string().min(1)).optional(),
  /** Linux: fork workers from one warmed-up Python process instead of starting an interpreter for each. */
  forkServer: z.boolean().optional(),
  /** Threads for sync calls in each worker; 0 runs them one by one on the main thread. */
  threads: nonNegativeInt.optional(),
  /** Recycle a worker after this many calls; 0 never. */
  maxCallsPerWorker: nonNegativeInt.optional(),
  /** Recycle a worker whose Python process holds more resident memory than this; 0 never. */
  maxRssBytes: nonNegativeInt.optional(),
  /** Recycle a worker this long after it started; 0 never. */
  ttlMs: millis.optional(),
  /** Stop a worker idle this long, down to `min`; 0 never. */
  idleTimeoutMs: millis.optional(),
  /** Health ping period; 0 switches pings off. */
  pingIntervalMs: millis.optional(),
  pingTimeoutMs: positiveInt.optional(),
  /** Missed pings in a row before a worker is replaced. */
  maxMissedPings: positiveInt.optional(),
  /** A worker exits if the host has not answered its heartbeat for this long; 0 never. */
  hostTimeoutMs: millis.optional(),
  restart: restartSchema.optional(),
  limits: limitsSchema.optional(),
  /** Retries of an idempotent call whose worker died under it. */
  retries: nonNegativeInt.optional(),
});

const timeoutsSchema = z.strictObject({
  /** Default deadline of a call; 0 means none. */
  callMs: millis.optional(),
  /** Longest a worker may take to start and answer the handshake. */
  startMs: positiveInt.optional(),
  /** After a cancel, how long a sync call may take to stop before its worker is killed. */
  cancelGraceMs: millis.optional(),
  /** On close, how long calls in flight may take before workers get SIGTERM, then SIGKILL. */
  shutdownGraceMs: millis.optional(),
});

const handlesSchema = z.strictObject({
  /** Live handles one session may hold in a worker. */
  maxPerSession: positiveInt.optional(),
  /** A handle unused this long is freed in the worker; 0 never. */
  ttlMs: millis.optional(),
});

const sandboxSchema = z.strictObject({
  /** Run each worker (and managed gRPC server) in the OS sandbox (Linux: Landlock and seccomp). */
  enabled: z.boolean().optional(),
  /** Paths the workers may write under; everything else is read-only. */
  writablePaths: z.array(z.string().min(1)).optional(),
  /** Let the workers open network sockets. */
  network: z.boolean().optional(),
});

const securitySchema = z.strictObject({
  /** Allow `bridge.eval` / `bridge.exec` of code strings. Off by default when `allowedModules` is set. */
  allowEval: z.boolean().optional(),
  /** If set, only these modules (and their submodules) can be called or imported. */
  allowedModules: z.array(z.string().min(1)).optional(),
  /** Let `allowedModules` name modules that reach arbitrary objects or code (operator, importlib, os, …). */
  allowUnsafeModules: z.boolean().optional(),
  sandbox: sandboxSchema.optional(),
});

/**
 * A section that belongs to an adapter package (`grpc`, `mock`, `protobuf`,
 * `offload`): any object here; the package validates it when it is loaded
 * (adapter-options.ts).
 */
const adapterSectionSchema = z.record(z.string(), z.unknown());

const protocolSchema = z.strictObject({
  /** Largest frame either side accepts, in bytes. */
  maxFrameBytes: positiveInt.optional(),
});

const streamsSchema = z.strictObject({
  /** Items a generator may run ahead of its consumer. */
  window: positiveInt.optional(),
});

const bindingsSchema = z.strictObject({
  /** Python modules to generate TypeScript declarations for (`snakebridge types`), by dotted name. */
  modules: z.array(z.string().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/, 'a dotted module name')).optional(),
  /** Directory the declarations are written to. */
  out: z.string().min(1).optional(),
  /** The lockfile recording what the declarations were generated from. */
  lockfile: z.string().min(1).optional(),
  /** How Python ints are typed in results: `number`, or `bigint` for `number | bigint`. */
  ints: z.enum(['number', 'bigint']).optional(),
  /** Longest introspection of one module; past it, the rest is left untyped. */
  budgetMs: positiveInt.optional(),
  /** `snakebridge types --strict` fails when a module has fewer fully typed callables than this share. */
  minCoverage: z.number().min(0).max(1).optional(),
  /** At start, each worker checks the lockfile's package versions: `warn` or `error` when they drifted. */
  guard: z.enum(['off', 'warn', 'error']).optional(),
});

/** Every setting, without the per-environment overrides. */
export const settingsSchema = z.strictObject({
  invoker: z.enum(INVOKER_NAMES).optional(),
  serializer: z.enum(SERIALIZER_NAMES).optional(),
  python: pythonSchema.optional(),
  pool: poolSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  handles: handlesSchema.optional(),
  streams: streamsSchema.optional(),
  protocol: protocolSchema.optional(),
  offload: adapterSectionSchema.optional(),
  security: securitySchema.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  grpc: adapterSectionSchema.optional(),
  mock: adapterSectionSchema.optional(),
  protobuf: adapterSectionSchema.optional(),
  bindings: bindingsSchema.optional(),
});

/** A config: settings plus overrides per environment (`development`, `test`, `production`, …). */
export const configSchema = settingsSchema.extend({
  environments: z.record(z.string(), settingsSchema).optional(),
});

export type InvokerName = (typeof INVOKER_NAMES)[number];
export type EscapeMode = (typeof ESCAPE_MODES)[number];
export type InvalidUtf8Mode = (typeof INVALID_UTF8_MODES)[number];
export type PythonLoggingLevel = (typeof PYTHON_LOGGING_LEVELS)[number];
export type SerializerName = (typeof SERIALIZER_NAMES)[number];

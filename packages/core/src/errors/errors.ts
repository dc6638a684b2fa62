// The typed errors of the bridge itself (as opposed to Python's exceptions,
// which arrive as PythonError). Each message says what to do next.

import { ErrorCode, SnakeBridgeError, type SnakeBridgeErrorOptions } from './snakebridge-error.js';

/** The call did not finish before its deadline; it was cancelled in Python. */
export class TimeoutError extends SnakeBridgeError {
  static override readonly kind: string = 'TimeoutError';
  /** The dotted name (or operation) that timed out. */
  readonly target: string;
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(target: string, timeoutMs: number, options?: SnakeBridgeErrorOptions) {
    super(
      ErrorCode.TIMEOUT,
      `Call to '${target}' timed out after ${timeoutMs} ms. If it legitimately takes longer, ` +
        'pass a larger timeoutMs for this call or raise timeouts.callMs in the config.',
      options,
    );
    this.target = target;
    this.timeoutMs = timeoutMs;
  }
}

/** The call was aborted by its `AbortSignal`; it was cancelled in Python. */
export class CancelledError extends SnakeBridgeError {
  static override readonly kind: string = 'CancelledError';
  readonly target: string;
  /** `signal.reason`, if the signal gave one. */
  readonly reason: unknown;

  constructor(target: string, reason?: unknown, options?: SnakeBridgeErrorOptions) {
    super(
      ErrorCode.CANCELLED,
      `Call to '${target}' was cancelled by its AbortSignal${describeReason(reason)}.`,
      options,
    );
    this.target = target;
    this.reason = reason;
  }
}

/** What is known about a worker process that exited or was killed. */
export interface WorkerExit {
  /** The worker's id within its pool, as shown in logs and stats. */
  readonly workerId: string;
  readonly pid?: number | undefined;
  /** Exit code, if the process exited by itself. */
  readonly exitCode?: number | null | undefined;
  /** Signal that ended it (`SIGKILL` for an OOM kill), if any. */
  readonly signal?: string | null | undefined;
  /** Last lines the worker wrote to stderr, oldest first. */
  readonly stderrTail?: readonly string[] | undefined;
  /** Why the host ended it, when the host did (timeout, missed pings, recycle). */
  readonly reason?: string | undefined;
}

/**
 * The worker died (exit, signal, OOM kill, killed after a hung call) while this
 * call was in flight. The call may have partly run in Python.
 */
export class WorkerCrashedError extends SnakeBridgeError {
  static override readonly kind: string = 'WorkerCrashedError';
  readonly target: string;
  readonly exit: WorkerExit;
  get exitCode(): number | null | undefined {
    return this.exit.exitCode;
  }
  get signal(): string | null | undefined {
    return this.exit.signal;
  }
  get stderrTail(): readonly string[] {
    return this.exit.stderrTail ?? [];
  }

  constructor(target: string, exit: WorkerExit, options?: SnakeBridgeErrorOptions) {
    super(
      ErrorCode.WORKER_CRASHED,
      `Python worker ${exit.workerId}${exit.pid === undefined ? '' : ` (pid ${exit.pid})`} ${describeExit(exit)} ` +
        `while '${target}' was in flight. The call may have partly run: retry it only if it is idempotent ` +
        `(callOptions idempotent: true retries it for you).${describeStderr(exit.stderrTail)}`,
      options,
    );
    this.target = target;
    this.exit = exit;
  }
}

/** A worker could not be started: no interpreter, a missing package, a failed preload. */
export class WorkerStartError extends SnakeBridgeError {
  static override readonly kind: string = 'WorkerStartError';
  readonly exit: WorkerExit | undefined;

  constructor(message: string, exit?: WorkerExit, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.WORKER_START_FAILED, `${message}${describeStderr(exit?.stderrTail)}`, options);
    this.exit = exit;
  }
}

/** Every worker is busy and the wait queue is full, or a wait for a worker timed out. */
export class PoolExhaustedError extends SnakeBridgeError {
  static override readonly kind: string = 'PoolExhaustedError';
  readonly queueDepth: number;

  constructor(detail: string, queueDepth: number, options?: SnakeBridgeErrorOptions) {
    super(
      ErrorCode.POOL_EXHAUSTED,
      `${detail} Raise pool.max, pool.maxConcurrency or pool.queueSize, or send fewer calls at once.`,
      options,
    );
    this.queueDepth = queueDepth;
  }
}

/** Workers failed too often; calls are refused fast until a probe worker starts cleanly. */
export class CircuitOpenError extends SnakeBridgeError {
  static override readonly kind: string = 'CircuitOpenError';
  /** When the next probe is due (epoch ms). */
  readonly retryAt: number;

  constructor(detail: string, retryAt: number, options?: SnakeBridgeErrorOptions) {
    super(
      ErrorCode.CIRCUIT_OPEN,
      `${detail} Calls are refused until a probe worker starts cleanly ` +
        `(next probe in ${Math.max(0, retryAt - Date.now())} ms). Check the worker logs for the cause.`,
      options,
    );
    this.retryAt = retryAt;
  }
}

/** A value could not be encoded or decoded. */
export class SerializationError extends SnakeBridgeError {
  static override readonly kind: string = 'SerializationError';
  /** Where in the value the problem is, as a path like `args[0].tags[2]`, when known. */
  readonly path: string | undefined;
  /** Id of the serializer that refused. */
  readonly serializer: string;

  constructor(serializer: string, message: string, path?: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.SERIALIZATION, `[${serializer}] ${path === undefined ? '' : `at ${path}: `}${message}`, options);
    this.serializer = serializer;
    this.path = path;
  }
}

/** The two sides of a connection disagree about the protocol. */
export class ProtocolError extends SnakeBridgeError {
  static override readonly kind: string = 'ProtocolError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.PROTOCOL, message, options);
  }
}

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Dotted path of the field, like `pool.max`. */
  readonly field: string;
  readonly message: string;
  /** The values that would have been accepted, when there is a fixed set. */
  readonly allowed?: readonly string[] | undefined;
}

/** The configuration is invalid; `issues` lists every problem found. */
export class ConfigError extends SnakeBridgeError {
  static override readonly kind: string = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  /** The first offending field. */
  get field(): string {
    return this.issues[0]?.field ?? '';
  }

  constructor(issues: readonly ConfigIssue[], options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.CONFIG, `Invalid SnakeBridge config:\n${issues.map(describeIssue).join('\n')}`, options);
    this.issues = issues;
  }
}

/** The adapter or serializer named in the config is not installed. */
export class AdapterNotInstalledError extends SnakeBridgeError {
  static override readonly kind: string = 'AdapterNotInstalledError';
  /** The npm package to install. */
  readonly packageName: string;

  constructor(role: string, name: string, packageName: string, options?: SnakeBridgeErrorOptions) {
    super(
      ErrorCode.ADAPTER_NOT_INSTALLED,
      `The ${role} '${name}' needs the package ${packageName}, which is not installed. ` +
        `Install it with: pnpm add ${packageName} (or npm install ${packageName}).`,
      options,
    );
    this.packageName = packageName;
  }
}

/** A handle to a Python object was used after release, expiry or its worker's death. */
export class HandleError extends SnakeBridgeError {
  static override readonly kind: string = 'HandleError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.HANDLE_INVALID, message, options);
  }
}

/**
 * A call was not run because it used the result of an earlier call that
 * failed: it was sent before that result existed (pipelining, docs/architecture.md).
 * `cause` is the earlier call's error (a PythonError, say), the first of the
 * chain when calls depended on each other in turn.
 */
export class PipelineError extends SnakeBridgeError {
  static override readonly kind: string = 'PipelineError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.PIPELINE_BROKEN, message, options);
  }
}

/** A session was used after it was closed or its worker died. */
export class SessionError extends SnakeBridgeError {
  static override readonly kind: string = 'SessionError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.SESSION_INVALID, message, options);
  }
}

/** The bridge, invoker or pool was used after `close()`. */
export class ClosedError extends SnakeBridgeError {
  static override readonly kind: string = 'ClosedError';
  constructor(what: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.CLOSED, `${what} is closed; create a new one to make more calls.`, options);
  }
}

/** A remote endpoint could not be reached. */
export class UnavailableError extends SnakeBridgeError {
  static override readonly kind: string = 'UnavailableError';
  readonly endpoint: string | undefined;
  constructor(message: string, endpoint?: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.UNAVAILABLE, message, options);
    this.endpoint = endpoint;
  }
}

/** A remote endpoint refused our credentials. */
export class UnauthenticatedError extends SnakeBridgeError {
  static override readonly kind: string = 'UnauthenticatedError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.UNAUTHENTICATED, message, options);
  }
}

/** The operation is switched off by configuration (eval, a module outside the allowlist). */
export class ForbiddenError extends SnakeBridgeError {
  static override readonly kind: string = 'ForbiddenError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.FORBIDDEN, message, options);
  }
}

/** The mock invoker received a call that nobody programmed (strict mode). */
export class UnprogrammedCallError extends SnakeBridgeError {
  static override readonly kind: string = 'UnprogrammedCallError';
  constructor(message: string, options?: SnakeBridgeErrorOptions) {
    super(ErrorCode.UNPROGRAMMED_CALL, message, options);
  }
}

/** ` (the reason)` when the signal gave one of its own; nothing for the default AbortError. */
function describeReason(reason: unknown): string {
  if (reason === undefined || (reason instanceof Error && reason.name === 'AbortError')) return '';
  return ` (${reason instanceof Error ? reason.message : String(reason)})`;
}

const SIGNAL_HINTS: Readonly<Record<string, string>> = {
  SIGKILL: ' (out of memory, or killed from outside)',
  SIGXCPU: ' (it used up pool.limits.cpuSeconds of CPU time)',
  SIGSEGV: ' (a crash in native code)',
};

function describeExit(exit: WorkerExit): string {
  const hint = exit.signal != null && exit.reason === undefined ? (SIGNAL_HINTS[exit.signal] ?? '') : '';
  const how =
    exit.signal != null
      ? `was killed by ${exit.signal}${hint}`
      : exit.exitCode != null
        ? `exited with code ${exit.exitCode}`
        : 'exited';
  return exit.reason === undefined ? how : `${how} (${exit.reason})`;
}

function describeStderr(tail: readonly string[] | undefined): string {
  if (tail === undefined || tail.length === 0) return '';
  return `\nLast lines of its stderr:\n${tail.map((line) => `  | ${line}`).join('\n')}`;
}

function describeIssue(issue: ConfigIssue): string {
  const allowed =
    issue.allowed === undefined ? '' : ` (allowed: ${issue.allowed.map((v) => JSON.stringify(v)).join(', ')})`;
  return `  - ${issue.field || '(root)'}: ${issue.message}${allowed}`;
}

// The one base class of every error SnakeBridge raises, with its stable codes.
//
// Codes are part of the public API: users branch on `err.code`, so a code is
// never renamed. `SnakeBridgeError.is()` checks a brand rather than the
// prototype chain, so it still works when two copies of the package are
// installed (a bundled adapter, a nested node_modules).

const KINDS = Symbol.for('@snakebridge/core/error-kinds');

/** Every code a {@link SnakeBridgeError} can carry. */
export const ErrorCode = {
  /** Python raised an exception; see {@link PythonError} and its `pythonType`. */
  PYTHON_ERROR: 'PYTHON_ERROR',
  /** The call did not finish before its deadline. */
  TIMEOUT: 'TIMEOUT',
  /** The call was aborted through its `AbortSignal`. */
  CANCELLED: 'CANCELLED',
  /** The worker process died while the call was in flight. */
  WORKER_CRASHED: 'WORKER_CRASHED',
  /** A worker failed to start (interpreter missing, package missing, preload failed). */
  WORKER_START_FAILED: 'WORKER_START_FAILED',
  /** Every worker is busy and the wait queue is full, or the wait timed out. */
  POOL_EXHAUSTED: 'POOL_EXHAUSTED',
  /** Workers keep failing; calls are refused until a probe succeeds. */
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  /** A value could not be encoded or decoded by the configured serializer. */
  SERIALIZATION: 'SERIALIZATION',
  /** The two sides disagreed about the wire protocol (bad frame, version, size). */
  PROTOCOL: 'PROTOCOL',
  /** The configuration is invalid. */
  CONFIG: 'CONFIG',
  /** The adapter or serializer named in the configuration is not installed. */
  ADAPTER_NOT_INSTALLED: 'ADAPTER_NOT_INSTALLED',
  /** A handle to a Python object was used after it was released or its worker died. */
  HANDLE_INVALID: 'HANDLE_INVALID',
  /** A session was used after it was closed or its worker died. */
  SESSION_INVALID: 'SESSION_INVALID',
  /** A call was not run: it used the result of an earlier call (pipelining) that failed; see its `cause`. */
  PIPELINE_BROKEN: 'PIPELINE_BROKEN',
  /** The bridge or invoker was used after `close()`. */
  CLOSED: 'CLOSED',
  /** A remote endpoint could not be reached. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A remote endpoint refused our credentials. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The operation is switched off by configuration (eval, a module not on the allowlist). */
  FORBIDDEN: 'FORBIDDEN',
  /** The mock invoker received a call nobody programmed (strict mode). */
  UNPROGRAMMED_CALL: 'UNPROGRAMMED_CALL',
} as const;

/**
 * Codes of {@link PythonError}: the common Python exceptions get a code of
 * their own so they can be caught without string-matching type names. A
 * subclass maps to its nearest mapped base (`ModuleNotFoundError` is
 * `PYTHON_IMPORT_ERROR`, a user's `class BadInput(ValueError)` is
 * `PYTHON_VALUE_ERROR`); anything else is `PYTHON_ERROR`.
 */
export const PythonErrorCode = {
  PYTHON_VALUE_ERROR: 'PYTHON_VALUE_ERROR',
  PYTHON_TYPE_ERROR: 'PYTHON_TYPE_ERROR',
  PYTHON_KEY_ERROR: 'PYTHON_KEY_ERROR',
  PYTHON_INDEX_ERROR: 'PYTHON_INDEX_ERROR',
  PYTHON_ATTRIBUTE_ERROR: 'PYTHON_ATTRIBUTE_ERROR',
  PYTHON_NAME_ERROR: 'PYTHON_NAME_ERROR',
  PYTHON_IMPORT_ERROR: 'PYTHON_IMPORT_ERROR',
  PYTHON_ZERO_DIVISION_ERROR: 'PYTHON_ZERO_DIVISION_ERROR',
  PYTHON_OVERFLOW_ERROR: 'PYTHON_OVERFLOW_ERROR',
  PYTHON_ASSERTION_ERROR: 'PYTHON_ASSERTION_ERROR',
  PYTHON_NOT_IMPLEMENTED_ERROR: 'PYTHON_NOT_IMPLEMENTED_ERROR',
  PYTHON_RECURSION_ERROR: 'PYTHON_RECURSION_ERROR',
  PYTHON_RUNTIME_ERROR: 'PYTHON_RUNTIME_ERROR',
  PYTHON_FILE_NOT_FOUND_ERROR: 'PYTHON_FILE_NOT_FOUND_ERROR',
  PYTHON_PERMISSION_ERROR: 'PYTHON_PERMISSION_ERROR',
  PYTHON_OS_ERROR: 'PYTHON_OS_ERROR',
  PYTHON_MEMORY_ERROR: 'PYTHON_MEMORY_ERROR',
  PYTHON_SYNTAX_ERROR: 'PYTHON_SYNTAX_ERROR',
  PYTHON_UNICODE_ERROR: 'PYTHON_UNICODE_ERROR',
  PYTHON_STOP_ITERATION: 'PYTHON_STOP_ITERATION',
  PYTHON_TIMEOUT_ERROR: 'PYTHON_TIMEOUT_ERROR',
  PYTHON_KEYBOARD_INTERRUPT: 'PYTHON_KEYBOARD_INTERRUPT',
  PYTHON_SYSTEM_EXIT: 'PYTHON_SYSTEM_EXIT',
} as const;

export type PythonErrorCode = (typeof PythonErrorCode)[keyof typeof PythonErrorCode];

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode] | PythonErrorCode;

export interface SnakeBridgeErrorOptions {
  /** The error that led to this one. */
  readonly cause?: unknown;
}

/**
 * Base class of every SnakeBridge error. Branch on {@link SnakeBridgeError.code};
 * it is stable across versions, unlike messages.
 *
 * Each subclass declares a static `kind`; an instance records the kinds of its
 * whole class chain, which is what `is()` checks.
 */
export class SnakeBridgeError extends Error {
  /** The stable name of this error class, recorded on every instance. */
  static readonly kind: string = 'SnakeBridgeError';

  /** A stable, machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: SnakeBridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = (new.target as typeof SnakeBridgeError).kind;
    Object.defineProperty(this, KINDS, { value: kindsOf(new.target) });
  }

  /**
   * True if `value` is an instance of this error class (or a subclass),
   * optionally with the given code. Works across copies of the package,
   * unlike `instanceof`: `TimeoutError.is(err)`, `SnakeBridgeError.is(err, 'CLOSED')`.
   */
  static is<T extends SnakeBridgeError>(this: ErrorClass<T>, value: unknown, code?: ErrorCode): value is T {
    if (typeof value !== 'object' || value === null) return false;
    const kinds = (value as { [KINDS]?: readonly string[] })[KINDS];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass `is` was called on
    if (kinds === undefined || !kinds.includes(this.kind)) return false;
    return code === undefined || (value as SnakeBridgeError).code === code;
  }
}

/** A SnakeBridge error class, as `is()` sees it. */
export interface ErrorClass<T extends SnakeBridgeError> {
  readonly kind: string;
  readonly prototype: T;
}

function kindsOf(errorClass: unknown): readonly string[] {
  const kinds: string[] = [];
  for (let c = errorClass; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    // Only a class's own `kind` counts: a subclass that forgot to declare one
    // must not be mistaken for its parent twice over.
    if (Object.hasOwn(c, 'kind')) kinds.push((c as unknown as { kind: string }).kind);
  }
  return kinds;
}

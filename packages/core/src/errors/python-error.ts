// A Python exception, carried across the bridge with its type, traceback and
// cause chain, plus the JavaScript stack of the call that raised it.

import { type ErrorCode, PythonErrorCode, SnakeBridgeError } from './snakebridge-error.js';

/** One frame of a Python traceback, innermost last. */
export interface PythonFrame {
  readonly file: string;
  readonly line: number;
  /** The function's name (`<module>` at top level). */
  readonly name: string;
  /** The source line, when Python could read it. */
  readonly source?: string | undefined;
}

/**
 * A Python exception as the worker describes it on the wire. Every invoker
 * produces this shape (the stdio protocol and gRPC carry it as-is).
 */
export interface PythonErrorPayload {
  /** Qualified class name within its module: `ValueError`, `Outer.Inner`. */
  readonly type: string;
  /** Module of the class: `builtins`, `numpy.linalg`. */
  readonly module: string;
  /** `str(exception)`. */
  readonly message: string;
  /** `module.qualname` of each class in the method resolution order, most derived first. */
  readonly mro?: readonly string[] | undefined;
  /** The traceback of this exception alone, as `traceback.format_tb` lines. */
  readonly traceback?: readonly string[] | undefined;
  readonly frames?: readonly PythonFrame[] | undefined;
  /** PEP 678 notes added with `add_note()`. */
  readonly notes?: readonly string[] | undefined;
  /** `__cause__`: the exception this one was raised `from`. */
  readonly cause?: PythonErrorPayload | null | undefined;
  /** `__context__`: the exception being handled when this one was raised. */
  readonly context?: PythonErrorPayload | null | undefined;
  readonly suppressContext?: boolean | undefined;
  /**
   * Set when the worker refused the call itself rather than the user's code
   * raising (`FORBIDDEN`, `HANDLE_INVALID`, `SERIALIZATION`, …): the host then
   * raises the matching SnakeBridge error instead of a PythonError.
   */
  readonly code?: string | undefined;
}

// Nearest mapped base wins, so the order of an exception's MRO decides.
const CODE_BY_CLASS: Readonly<Record<string, PythonErrorCode>> = {
  'builtins.ModuleNotFoundError': PythonErrorCode.PYTHON_IMPORT_ERROR,
  'builtins.ImportError': PythonErrorCode.PYTHON_IMPORT_ERROR,
  'builtins.FileNotFoundError': PythonErrorCode.PYTHON_FILE_NOT_FOUND_ERROR,
  'builtins.PermissionError': PythonErrorCode.PYTHON_PERMISSION_ERROR,
  'builtins.TimeoutError': PythonErrorCode.PYTHON_TIMEOUT_ERROR,
  'builtins.OSError': PythonErrorCode.PYTHON_OS_ERROR,
  'builtins.UnicodeError': PythonErrorCode.PYTHON_UNICODE_ERROR,
  'builtins.ValueError': PythonErrorCode.PYTHON_VALUE_ERROR,
  'builtins.TypeError': PythonErrorCode.PYTHON_TYPE_ERROR,
  'builtins.KeyError': PythonErrorCode.PYTHON_KEY_ERROR,
  'builtins.IndexError': PythonErrorCode.PYTHON_INDEX_ERROR,
  'builtins.AttributeError': PythonErrorCode.PYTHON_ATTRIBUTE_ERROR,
  'builtins.NameError': PythonErrorCode.PYTHON_NAME_ERROR,
  'builtins.ZeroDivisionError': PythonErrorCode.PYTHON_ZERO_DIVISION_ERROR,
  'builtins.OverflowError': PythonErrorCode.PYTHON_OVERFLOW_ERROR,
  'builtins.AssertionError': PythonErrorCode.PYTHON_ASSERTION_ERROR,
  'builtins.NotImplementedError': PythonErrorCode.PYTHON_NOT_IMPLEMENTED_ERROR,
  'builtins.RecursionError': PythonErrorCode.PYTHON_RECURSION_ERROR,
  'builtins.RuntimeError': PythonErrorCode.PYTHON_RUNTIME_ERROR,
  'builtins.MemoryError': PythonErrorCode.PYTHON_MEMORY_ERROR,
  'builtins.SyntaxError': PythonErrorCode.PYTHON_SYNTAX_ERROR,
  'builtins.StopIteration': PythonErrorCode.PYTHON_STOP_ITERATION,
  'builtins.StopAsyncIteration': PythonErrorCode.PYTHON_STOP_ITERATION,
  'builtins.KeyboardInterrupt': PythonErrorCode.PYTHON_KEYBOARD_INTERRUPT,
  'builtins.SystemExit': PythonErrorCode.PYTHON_SYSTEM_EXIT,
};

/** The error code for a Python exception, from the nearest mapped class in its MRO. */
export function pythonErrorCode(payload: Pick<PythonErrorPayload, 'type' | 'module' | 'mro'>): ErrorCode {
  const mro = payload.mro ?? [`${payload.module}.${payload.type}`];
  for (const name of mro) {
    const code = CODE_BY_CLASS[name];
    if (code !== undefined) return code;
  }
  return 'PYTHON_ERROR';
}

/**
 * A Python exception raised by the called code. `code` tells the common
 * exception families apart (`PYTHON_VALUE_ERROR`, `PYTHON_KEY_ERROR`, …);
 * `pythonType`, `traceback` and `cause` tell the rest. The `stack` holds the
 * Python traceback followed by the JavaScript stack of the call site.
 */
export class PythonError extends SnakeBridgeError {
  static override readonly kind: string = 'PythonError';
  /** Class name, e.g. `ValueError`. */
  readonly pythonType: string;
  /** Module of the class, e.g. `builtins`. */
  readonly pythonModule: string;
  /** `str(exception)` in Python. */
  readonly pythonMessage: string;
  /** Qualified names of the class and its bases, most derived first. */
  readonly mro: readonly string[];
  /** Traceback lines of this exception, as Python formats them. */
  readonly traceback: readonly string[];
  readonly frames: readonly PythonFrame[];
  readonly notes: readonly string[];
  /** `__context__` (the exception being handled when this one was raised). */
  readonly context: PythonError | undefined;
  /** The dotted name whose call raised this, when known. */
  readonly target: string | undefined;

  constructor(payload: PythonErrorPayload, target?: string, callSite?: Error) {
    const cause = payload.cause ? new PythonError(payload.cause, target) : undefined;
    super(pythonErrorCode(payload), formatHeadline(payload), cause === undefined ? {} : { cause });
    this.pythonType = payload.type;
    this.pythonModule = payload.module;
    this.pythonMessage = payload.message;
    this.mro = payload.mro ?? [`${payload.module}.${payload.type}`];
    this.traceback = payload.traceback ?? [];
    this.frames = payload.frames ?? [];
    this.notes = payload.notes ?? [];
    this.context = payload.context && !payload.suppressContext ? new PythonError(payload.context, target) : undefined;
    this.target = target;
    this.stack = `${this.name}: ${this.message}\n${formatPythonChain(this)}${callSiteFrames(callSite)}`;
  }

  /** `__cause__` (the exception this one was raised `from`), if any. */
  declare readonly cause: PythonError | undefined;

  /**
   * True if the Python exception is an instance of the named class,
   * like `isinstance`: `err.isInstance('LookupError')` holds for a KeyError.
   * Takes a bare name (`'KeyError'`) or a qualified one (`'builtins.KeyError'`).
   */
  isInstance(className: string): boolean {
    return this.mro.some((name) => name === className || name.endsWith(`.${className}`));
  }

  /** The payload this error was built from, e.g. to log or forward it. */
  toPayload(): PythonErrorPayload {
    return {
      type: this.pythonType,
      module: this.pythonModule,
      message: this.pythonMessage,
      mro: this.mro,
      traceback: this.traceback,
      frames: this.frames,
      notes: this.notes,
      cause: this.cause?.toPayload() ?? null,
      context: this.context?.toPayload() ?? null,
    };
  }
}

function formatHeadline(payload: PythonErrorPayload): string {
  const qualified = payload.module === 'builtins' ? payload.type : `${payload.module}.${payload.type}`;
  return payload.message === '' ? qualified : `${qualified}: ${payload.message}`;
}

// Mirrors Python's own printout: causes first, each followed by the line that links it.
function formatPythonChain(error: PythonError): string {
  const parts: string[] = [];
  if (error.cause !== undefined) {
    parts.push(formatPythonChain(error.cause));
    parts.push('\n    The above exception was the direct cause of the following exception:\n\n');
  } else if (error.context !== undefined) {
    parts.push(formatPythonChain(error.context));
    parts.push('\n    During handling of the above exception, another exception occurred:\n\n');
  }
  parts.push(formatOne(error));
  return parts.join('');
}

function formatOne(error: PythonError): string {
  const lines = ['    Traceback (most recent call last) in Python:'];
  for (const chunk of error.traceback) {
    for (const line of chunk.replace(/\n$/, '').split('\n')) lines.push(`    ${line}`);
  }
  lines.push(
    `    ${formatHeadline({ type: error.pythonType, module: error.pythonModule, message: error.pythonMessage })}`,
  );
  for (const note of error.notes) lines.push(`    ${note}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Points an error's JavaScript frames at `site`, captured where the user's
 * code is waiting, instead of where the answer arrived (a pipe's data
 * handler). Capture `site` with `new Error()` inside the async function that
 * awaits the call: V8 then adds the awaiting async callers, the user's code
 * among them, at no cost until an error happens. A PythonError keeps its
 * Python traceback above those frames.
 */
export function atCallSite<E extends Error>(error: E, site: Error): E {
  const frames = callSiteFrames(site);
  if (frames === '' || !SnakeBridgeError.is(error)) return error;
  const python = error instanceof PythonError ? formatPythonChain(error) : '';
  error.stack = `${error.name}: ${error.message}\n${python}${frames}`;
  return error;
}

function callSiteFrames(callSite: Error | undefined): string {
  const stack = callSite?.stack;
  if (stack === undefined) return '';
  const firstFrame = stack.indexOf('\n    at ');
  return firstFrame === -1 ? '' : stack.slice(firstFrame + 1);
}

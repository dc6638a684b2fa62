// Builds PythonErrors that look like the ones real workers send, so code that
// handles Python exceptions can be tested without Python.

import { PythonError, type PythonErrorPayload } from '@snakebridge/core';

// Bases of the common builtin exceptions, so `err.isInstance('LookupError')`
// and the error code behave as they do with a real worker.
const BUILTIN_BASES: Readonly<Record<string, readonly string[]>> = {
  KeyError: ['LookupError'],
  IndexError: ['LookupError'],
  ModuleNotFoundError: ['ImportError'],
  FileNotFoundError: ['OSError'],
  PermissionError: ['OSError'],
  TimeoutError: ['OSError'],
  ZeroDivisionError: ['ArithmeticError'],
  OverflowError: ['ArithmeticError'],
  RecursionError: ['RuntimeError'],
  NotImplementedError: ['RuntimeError'],
  UnicodeDecodeError: ['UnicodeError', 'ValueError'],
  UnicodeEncodeError: ['UnicodeError', 'ValueError'],
  UnicodeError: ['ValueError'],
};

const NOT_EXCEPTION = new Set(['KeyboardInterrupt', 'SystemExit', 'GeneratorExit']);

export interface PythonErrorSpec {
  /** Class name, e.g. `ValueError`; a dotted name (`mypkg.errors.BadInput`) for your own classes. */
  readonly type: string;
  readonly message?: string | undefined;
  /** Names of the base classes, nearest first, for classes of your own: `['ValueError']`. */
  readonly bases?: readonly string[] | undefined;
  /** The exception this one was raised `from`. */
  readonly cause?: PythonErrorSpec | undefined;
  /** The traceback lines to show. @default one frame in `<mock>` */
  readonly traceback?: readonly string[] | undefined;
}

/** The wire payload for an exception spec. */
export function pythonErrorPayload(spec: PythonErrorSpec, target = '<mock>'): PythonErrorPayload {
  const dot = spec.type.lastIndexOf('.');
  const module = dot === -1 ? 'builtins' : spec.type.slice(0, dot);
  const type = dot === -1 ? spec.type : spec.type.slice(dot + 1);
  const bases = spec.bases ?? BUILTIN_BASES[type] ?? [];
  const qualified = (name: string): string => (name.includes('.') ? name : `builtins.${name}`);
  const tail = NOT_EXCEPTION.has(type) ? ['builtins.BaseException'] : ['builtins.Exception', 'builtins.BaseException'];
  const mro = [...new Set([`${module}.${type}`, ...bases.map(qualified), ...tail])];
  return {
    type,
    module,
    message: spec.message ?? '',
    mro,
    traceback: spec.traceback ?? [`  File "<mock>", line 1, in ${target}\n`],
    frames: [{ file: '<mock>', line: 1, name: target }],
    cause: spec.cause === undefined ? null : pythonErrorPayload(spec.cause, target),
    context: null,
  };
}

/**
 * A PythonError as a real worker would raise it.
 *
 * @example mock.on('mypkg.load').throws(pythonError('FileNotFoundError', 'no such file: data.csv'))
 */
export function pythonError(
  type: string,
  message = '',
  options: Omit<PythonErrorSpec, 'type' | 'message'> = {},
): PythonError {
  return new PythonError(pythonErrorPayload({ ...options, type, message }));
}

// Builds PythonErrors that look like the ones real workers send, so code that
// handles Python exceptions can be tested without Python.

import { PythonError, type PythonErrorPayload } from '@snakebridge/core';
import { EXCEPTION_BASES } from './exception-table.js';

/** Short class names (`JSONDecodeError`) to the qualified name of the one standard class of that name. */
const BY_SHORT_NAME: ReadonlyMap<string, string> = shortNames(Object.keys(EXCEPTION_BASES));

export interface PythonErrorSpec {
  /**
   * Class name, e.g. `ValueError` or `JSONDecodeError` (a standard exception, found by its
   * short name, with its real bases), or a dotted name (`mypkg.errors.BadInput`) for your own classes.
   */
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
  const qualifiedName = qualify(spec.type);
  const dot = qualifiedName.lastIndexOf('.');
  const module = qualifiedName.slice(0, dot);
  const type = qualifiedName.slice(dot + 1);
  return {
    type,
    module,
    message: spec.message ?? '',
    mro: mroOf(qualifiedName, spec.bases),
    traceback: spec.traceback ?? [`  File "<mock>", line 1, in ${target}\n`],
    frames: [{ file: '<mock>', line: 1, name: target }],
    cause: spec.cause === undefined ? null : pythonErrorPayload(spec.cause, target),
    context: null,
  };
}

/**
 * The class and its bases, nearest first, as Python's `__mro__` names them: a
 * standard exception's from the table, a class of your own's from the bases
 * you give (each expanded by the table), ending at BaseException.
 */
function mroOf(qualifiedName: string, bases: readonly string[] | undefined): string[] {
  const known = EXCEPTION_BASES[qualifiedName];
  if (bases === undefined && known !== undefined) return [qualifiedName, ...known];
  const expanded = (bases ?? ['Exception']).flatMap((base) => {
    const name = qualify(base);
    return [name, ...(EXCEPTION_BASES[name] ?? ['builtins.Exception', 'builtins.BaseException'])];
  });
  // Later duplicates go: the common bases (Exception, BaseException) end the list, as in Python.
  const mro = [qualifiedName, ...expanded];
  return mro.filter((name, index) => mro.lastIndexOf(name) === index);
}

/** `ValueError` → `builtins.ValueError`; `JSONDecodeError` → `json.decoder.JSONDecodeError`; dotted names as they are. */
function qualify(name: string): string {
  if (name.includes('.')) return name;
  return EXCEPTION_BASES[`builtins.${name}`] !== undefined
    ? `builtins.${name}`
    : (BY_SHORT_NAME.get(name) ?? `builtins.${name}`);
}

function shortNames(qualifiedNames: readonly string[]): Map<string, string> {
  const byShort = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const name of qualifiedNames) {
    const short = name.slice(name.lastIndexOf('.') + 1);
    if (byShort.has(short)) ambiguous.add(short);
    else byShort.set(short, name);
  }
  for (const short of ambiguous) byShort.delete(short);
  return byShort;
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

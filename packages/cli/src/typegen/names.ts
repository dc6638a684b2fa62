// TypeScript names for Python ones: identifiers that are legal, never shadow
// a global the declarations use, and never collide within one file.

/** Words that cannot label a tuple element or name an interface. */
const RESERVED = new Set([
  // ECMAScript reserved words and strict-mode ones
  'break',
  'case',
  'catch',
  'class',
  'const',
  'continue',
  'debugger',
  'default',
  'delete',
  'do',
  'else',
  'enum',
  'export',
  'extends',
  'false',
  'finally',
  'for',
  'function',
  'if',
  'import',
  'in',
  'instanceof',
  'new',
  'null',
  'return',
  'super',
  'switch',
  'this',
  'throw',
  'true',
  'try',
  'typeof',
  'var',
  'void',
  'while',
  'with',
  'implements',
  'interface',
  'let',
  'package',
  'private',
  'protected',
  'public',
  'static',
  'yield',
  'await',
  'arguments',
  'eval',
  // TypeScript's predefined type names
  'any',
  'unknown',
  'never',
  'number',
  'bigint',
  'boolean',
  'string',
  'symbol',
  'object',
  'undefined',
  'type',
  'as',
  'is',
  'keyof',
  'infer',
  'readonly',
  'declare',
  'module',
  'namespace',
  'abstract',
  'asserts',
  'global',
  'require',
  'satisfies',
  'accessor',
  'out',
]);

/**
 * Global types the generated declarations refer to, and the helpers they
 * import: a Python class of one of these names gets another name, so that
 * `Map` in a file always means JavaScript's Map.
 */
export const TAKEN_TYPE_NAMES: ReadonlySet<string> = new Set([
  'Array',
  'AsyncIterable',
  'Awaited',
  'Date',
  'Error',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'BigInt64Array',
  'BigUint64Array',
  'Uint8Array',
  'Uint16Array',
  'Uint32Array',
  'Map',
  'Object',
  'Partial',
  'Promise',
  'PromiseLike',
  'Readonly',
  'ReadonlyArray',
  'ReadonlyMap',
  'ReadonlySet',
  'Record',
  'Set',
  'String',
  'Number',
  'Boolean',
  'Symbol',
  'Function',
  'AsyncDisposable',
  'Table',
  'RecordBatch',
  'Kwargs',
  'NDArray',
  'NDArrayLike',
  'PyArray',
  'PyAttribute',
  'PyCallable',
  'PyDynamic',
  'PyHandle',
  'PyInstance',
  'PyIterator',
  'PyModule',
  'PyObject',
  'PyResult',
  'PythonClasses',
  'PythonModules',
  'Trailing',
  'TypedArray',
  'CallOptionsMarker',
  'PyInstanceArg',
]);

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A property key: the name itself when it is an identifier, else quoted. */
export function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : quote(name);
}

/** A single-quoted string literal, as the rest of our TypeScript is written. */
export function quote(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${escaped}'`;
}

/** A Python literal value as a TypeScript literal type. */
export function literalText(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  return typeof value === 'string' ? quote(value) : String(value);
}

/** A label for a tuple element or a type parameter: reserved words get a trailing underscore. */
export function labelFor(name: string): string {
  const clean = IDENTIFIER.test(name) ? name : name.replace(/[^\w$]/g, '_').replace(/^(\d)/, '_$1');
  return RESERVED.has(clean) ? `${clean}_` : clean;
}

/** Labels for a list of parameter names, each unique (a suffix tells two apart). */
export function uniqueLabels(names: readonly string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    let label = labelFor(name);
    while (used.has(label)) label = `${label}_`;
    used.add(label);
    return label;
  });
}

/**
 * Hands out the type names of one file: the preferred name when it is free,
 * else the name with `$` and a suffix (Python identifiers never contain `$`,
 * so the result cannot collide with another Python name).
 */
export class NameTable {
  readonly #used = new Set<string>(TAKEN_TYPE_NAMES);

  /** Reserves `preferred` (or a variant) and returns what was reserved. */
  claim(preferred: string, suffix = ''): string {
    const base = labelFor(preferred);
    let name = base;
    if (this.#used.has(name) || RESERVED.has(name)) name = `${base}$${suffix}`;
    let n = 2;
    while (this.#used.has(name)) name = `${base}$${suffix}${n++}`;
    this.#used.add(name);
    return name;
  }
}

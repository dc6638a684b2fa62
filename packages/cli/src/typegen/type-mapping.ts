// Python types to TypeScript, following the serializer's type mapping
// (docs/serialization.md): what travels by value becomes its JavaScript twin,
// everything else a handle proxy. Every type is written for a direction:
// `in` for what TypeScript sends (arguments), `out` for what it receives
// (results, attributes, the arguments of a callback Python calls).

import type { PyType } from './introspection.js';
import { literalText, quote } from './names.js';

export type Direction = 'in' | 'out';

/** How Python ints are typed in results: `number`, or exactly (`number | bigint`, ints beyond 2^53 arrive as bigint). */
export type IntMapping = 'number' | 'bigint';

/** What the file being written knows about a class it can name. */
export interface ClassRef {
  /** How the class travels: as a handle, or by value as a plain object, a tuple or a literal. */
  readonly shape: 'handle' | 'protocol' | 'object' | 'tuple' | 'literal';
  /** Type of a value received (`out`); for a handle, the proxy interface. */
  readonly out: string;
  /** Type of a value sent (`in`), when it differs from `out`. */
  readonly in: string;
  /** The constructor interface (calling the class), for `type[X]`; handles only. */
  readonly constructorName: string | undefined;
  readonly typeParams: number;
}

/** What the writer asks of the file it writes into. */
export interface MappingScope {
  readonly serializer: string;
  readonly ints: IntMapping;
  /** The class by qualified name, if this file declares or imports it. */
  classRef(qualname: string): ClassRef | undefined;
  /** The TypeScript name of a named alias for this direction, if the file has it. */
  aliasRef(name: string, direction: Direction): { readonly name: string; readonly typeParams: number } | undefined;
  /** Type variables in scope, by Python name → TypeScript name. */
  readonly typeVars: ReadonlyMap<string, string>;
  /** Notes a helper type imported from @snakebridge/core (or apache-arrow). */
  use(helper: string): void;
}

/** The result of writing a type: its text, and whether some of it was unknown. */
export interface Written {
  readonly text: string;
  readonly unknown: boolean;
}

const SEQUENCES = new Set([
  'builtins.list',
  'builtins.tuple',
  'collections.abc.Sequence',
  'collections.abc.MutableSequence',
  'collections.abc.Collection',
  'collections.deque',
]);
const ITERABLES = new Set(['collections.abc.Iterable', 'collections.abc.Reversible']);
const ITERATORS = new Set([
  'collections.abc.Iterator',
  'collections.abc.Generator',
  'collections.abc.AsyncIterator',
  'collections.abc.AsyncGenerator',
  'collections.abc.AsyncIterable',
]);
const SETS = new Set([
  'builtins.set',
  'builtins.frozenset',
  'collections.abc.Set',
  'collections.abc.MutableSet',
  'typing.AbstractSet',
]);
const MAPPINGS = new Set([
  'builtins.dict',
  'collections.abc.Mapping',
  'collections.abc.MutableMapping',
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
]);
const BYTES = new Set(['builtins.bytes', 'builtins.bytearray', 'builtins.memoryview', 'collections.abc.Buffer']);
const DATES = new Set(['datetime.datetime', 'datetime.date']);
const FLOATS = new Set(['builtins.float', 'numbers.Real', 'numbers.Number', 'numbers.Rational']);
const INTS = new Set(['builtins.int', 'numbers.Integral']);
const CALLABLES = new Set(['collections.abc.Callable', 'builtins.function', 'types.FunctionType']);
const ANYTHING = new Set(['builtins.object', 'typing.Any']);
/** Protocols that numbers satisfy (typeshed's math stubs take them). */
const NUMERIC_PROTOCOLS = new Set([
  'typing.SupportsFloat',
  'typing.SupportsInt',
  'typing.SupportsIndex',
  'typing.SupportsAbs',
  'typing.SupportsRound',
  'typing.SupportsComplex',
]);

/** numpy scalar types by the typed array of their dtype; ints and floats travel as Python scalars. */
const NUMPY_TYPED_ARRAYS: Readonly<Record<string, string>> = {
  float64: 'Float64Array',
  double: 'Float64Array',
  float32: 'Float32Array',
  single: 'Float32Array',
  int8: 'Int8Array',
  byte: 'Int8Array',
  int16: 'Int16Array',
  short: 'Int16Array',
  int32: 'Int32Array',
  intc: 'Int32Array',
  int64: 'BigInt64Array',
  intp: 'BigInt64Array',
  long: 'BigInt64Array',
  longlong: 'BigInt64Array',
  uint8: 'Uint8Array',
  ubyte: 'Uint8Array',
  uint16: 'Uint16Array',
  ushort: 'Uint16Array',
  uint32: 'Uint32Array',
  uintc: 'Uint32Array',
  uint64: 'BigUint64Array',
  uintp: 'BigUint64Array',
  ulong: 'BigUint64Array',
  ulonglong: 'BigUint64Array',
};
const NUMPY_FLOATS = new Set(['floating', 'float16', 'half', 'longdouble', 'number', 'inexact']);
const NUMPY_INTS = new Set(['integer', 'signedinteger', 'unsignedinteger']);
const NUMPY_BOOLS = new Set(['bool', 'bool_']);

const DATAFRAMES = new Set(['pandas.core.frame.DataFrame', 'pandas.DataFrame', 'polars.dataframe.frame.DataFrame']);
const ARROW_TABLES = new Set(['pyarrow.lib.Table', 'pyarrow.Table']);
const ARROW_BATCHES = new Set(['pyarrow.lib.RecordBatch', 'pyarrow.RecordBatch']);

/** numpy's ArrayLike, by any of the names it has had. */
export function isNumpyArrayLike(name: string): boolean {
  return name === 'numpy.typing.ArrayLike' || /^numpy\._typing\.[\w.]*ArrayLike$/.test(name);
}

/** Writes Python types as TypeScript for one file. */
export class TypeWriter {
  readonly #scope: MappingScope;

  constructor(scope: MappingScope) {
    this.#scope = scope;
  }

  /** `type` written for `direction`; `null` (nothing known) is `unknown`. */
  write(type: PyType | null, direction: Direction): Written {
    const state = { unknown: false };
    const text = type === null ? this.#unknown(state) : this.#type(type, direction, state);
    return { text, unknown: state.unknown };
  }

  #type(type: PyType, direction: Direction, state: { unknown: boolean }): string {
    const recurse = (inner: PyType | undefined, d: Direction = direction) =>
      inner === undefined ? 'unknown' : this.#type(inner, d, state);
    switch (type.kind) {
      case 'any':
        return 'unknown';
      case 'none':
        return 'null';
      case 'never':
        return 'never';
      case 'unknown':
        return this.#unknown(state);
      case 'literal':
        return union(type.values.map(literalText));
      case 'union':
        return union(type.options.map((option) => recurse(option)));
      case 'typevar':
        return this.#scope.typeVars.get(type.name) ?? this.#unknown(state);
      case 'tuple': {
        const items = type.items.map((item) => recurse(item));
        return direction === 'in' ? `readonly [${items.join(', ')}]` : `[${items.join(', ')}]`;
      }
      case 'callable':
        return this.#callable(type.params, type.returns, direction, recurse);
      case 'type':
        return this.#classObject(type.of, direction);
      case 'alias':
        return this.#alias(type.name, type.args, direction, recurse, state);
      case 'class':
        return this.#class(type.name, type.args, direction, recurse);
    }
  }

  /** A Python iterator of `item`s, as it arrives: a `PyIterator` handle. */
  iteratorOf(item: PyType | null): Written {
    const written = this.write(item, 'out');
    return { text: this.#iterator(written.text), unknown: written.unknown };
  }

  #unknown(state: { unknown: boolean }): string {
    state.unknown = true;
    return 'unknown';
  }

  /** A function sent to Python is a host callback; one received is a callable handle. */
  #callable(
    params: readonly PyType[] | null,
    returns: PyType,
    direction: Direction,
    recurse: (inner: PyType | undefined, d?: Direction) => string,
  ): string {
    const flip: Direction = direction === 'in' ? 'out' : 'in';
    const args = params === null ? null : params.map((param, i) => `arg${i}: ${recurse(param, flip)}`);
    if (direction === 'in') {
      const result = recurse(returns, 'in');
      return `((${args === null ? '...args: never[]' : args.join(', ')}) => ${maybePromise(result)})`;
    }
    this.#scope.use('PyCallable');
    return `PyCallable<${args === null ? 'unknown[]' : `[${args.join(', ')}]`}, ${recurse(returns, 'out')}>`;
  }

  #classObject(of: PyType, direction: Direction): string {
    if (of.kind === 'class') {
      const ref = this.#scope.classRef(of.name);
      if (ref?.constructorName !== undefined) return ref.constructorName;
    }
    return this.#anyHandle(direction);
  }

  #alias(
    name: string,
    args: readonly PyType[],
    direction: Direction,
    recurse: (inner: PyType | undefined, d?: Direction) => string,
    state: { unknown: boolean },
  ): string {
    if (isNumpyArrayLike(name)) {
      this.#scope.use('NDArrayLike');
      return 'NDArrayLike';
    }
    const ref = this.#scope.aliasRef(name, direction);
    if (ref === undefined) return this.#unknown(state);
    if (ref.typeParams === 0) return ref.name;
    // Missing arguments of a generic alias are unknown, as Python's are Any.
    return `${ref.name}<${Array.from({ length: ref.typeParams }, (_, i) => recurse(args[i])).join(', ')}>`;
  }

  #class(
    name: string,
    args: readonly PyType[],
    direction: Direction,
    recurse: (inner: PyType | undefined, d?: Direction) => string,
  ): string {
    const [first, second] = args;
    if (ANYTHING.has(name)) return 'unknown';
    if (name === 'builtins.NoneType' || name === 'types.NoneType') return 'null';
    if (name === 'builtins.bool') return 'boolean';
    if (name === 'builtins.str') return 'string';
    if (FLOATS.has(name)) return 'number';
    if (NUMERIC_PROTOCOLS.has(name))
      return direction === 'in' ? `number | bigint | boolean | ${this.#anyHandle('in')}` : 'number';
    if (INTS.has(name)) return this.#int(direction);
    if (BYTES.has(name)) return 'Uint8Array';
    if (DATES.has(name)) return 'Date';
    if (SEQUENCES.has(name))
      return direction === 'in' ? `readonly ${element(recurse(first))}[]` : `${element(recurse(first))}[]`;
    if (SETS.has(name)) return direction === 'in' ? `ReadonlySet<${recurse(first)}>` : `Set<${recurse(first)}>`;
    if (MAPPINGS.has(name)) return this.#mapping(first, second ?? first, direction, recurse);
    if (ITERABLES.has(name)) {
      const item = recurse(first);
      if (direction === 'out') return union([`${element(item)}[]`, this.#iterator(item)]);
      return union([`readonly ${element(item)}[]`, `ReadonlySet<${item}>`, this.#anyHandle('in')]);
    }
    if (ITERATORS.has(name)) return this.#iterator(recurse(first));
    if (CALLABLES.has(name)) return this.#callable(null, { kind: 'any' }, direction, recurse);
    if (name === 'builtins.type') return this.#anyHandle(direction);
    if (name === 'numpy.ndarray') return this.#ndarray(second, direction);
    if (name.startsWith('numpy.')) {
      const scalar = this.#numpyScalar(name.slice('numpy.'.length), direction);
      if (scalar !== undefined) return scalar;
    }
    const table = this.#arrow(name, direction);
    if (table !== undefined) return table;
    return this.#named(name, args, direction, recurse);
  }

  #int(direction: Direction): string {
    return direction === 'in' || this.#scope.ints === 'bigint' ? 'number | bigint' : 'number';
  }

  #mapping(
    key: PyType | undefined,
    value: PyType | undefined,
    direction: Direction,
    recurse: (inner: PyType | undefined, d?: Direction) => string,
  ): string {
    const v = recurse(value);
    const stringKeys = key !== undefined && isStringType(key);
    const record = direction === 'in' ? `Readonly<Record<string, ${v}>>` : `Record<string, ${v}>`;
    const map = direction === 'in' ? `ReadonlyMap<${recurse(key)}, ${v}>` : `Map<${recurse(key)}, ${v}>`;
    // A dict with only str keys is a plain object; with any other key, a Map (docs/serialization.md).
    if (stringKeys) return direction === 'in' ? union([record, `ReadonlyMap<string, ${v}>`]) : record;
    if (key !== undefined && key.kind !== 'any' && !mayBeString(key)) return map;
    return union([record, map]);
  }

  #iterator(item: string): string {
    this.#scope.use('PyIterator');
    return `PyIterator<${item}>`;
  }

  #anyHandle(direction: Direction): string {
    const helper = direction === 'in' ? 'PyHandle' : 'PyObject';
    this.#scope.use(helper);
    return helper;
  }

  /** numpy arrays travel by value when their dtype is numeric (docs/serialization.md). */
  #ndarray(dtype: PyType | undefined, direction: Direction): string {
    const typed = dtype?.kind === 'class' && dtype.name === 'numpy.dtype' ? numpyTypedArray(dtype.args[0]) : undefined;
    if (direction === 'in') {
      this.#scope.use('NDArray');
      this.#scope.use('PyHandle');
      if (typed !== undefined) return `${typed} | NDArray<${typed}> | PyHandle`;
      this.#scope.use('TypedArray');
      return 'TypedArray | NDArray | PyHandle';
    }
    if (typed === 'Uint8Array') {
      // A one-dimensional uint8 array would be bytes, so it stays an NDArray.
      this.#scope.use('NDArray');
      return 'NDArray<Uint8Array>';
    }
    this.#scope.use('PyArray');
    if (typed !== undefined) return `PyArray<${typed}>`;
    // Other dtypes (bool, complex, object…) stay in Python as handles.
    this.#scope.use('PyObject');
    return 'PyArray | PyObject';
  }

  #numpyScalar(name: string, direction: Direction): string | undefined {
    const typed = NUMPY_TYPED_ARRAYS[name];
    if (typed === 'Float64Array' || typed === 'Float32Array' || NUMPY_FLOATS.has(name)) return 'number';
    if (typed !== undefined || NUMPY_INTS.has(name)) return this.#int(direction);
    if (NUMPY_BOOLS.has(name)) return 'boolean';
    if (name === 'str_') return 'string';
    if (name === 'bytes_') return 'Uint8Array';
    return undefined;
  }

  /** Tables travel by value under the Arrow serializer; under the others they are handles. */
  #arrow(name: string, direction: Direction): string | undefined {
    if (this.#scope.serializer !== 'arrow') return undefined;
    if (DATAFRAMES.has(name) || ARROW_TABLES.has(name)) {
      this.#scope.use('Table');
      return direction === 'in' ? 'Table | PyHandle' : 'Table';
    }
    if (ARROW_BATCHES.has(name)) {
      this.#scope.use('RecordBatch');
      return direction === 'in' ? 'RecordBatch | PyHandle' : 'RecordBatch';
    }
    return undefined;
  }

  /** A class the mapping does not know by name: one of the file's, or another module's through the registry. */
  #named(
    name: string,
    args: readonly PyType[],
    direction: Direction,
    recurse: (inner: PyType | undefined, d?: Direction) => string,
  ): string {
    const ref = this.#scope.classRef(name);
    if (ref === undefined) {
      const helper = direction === 'in' ? 'PyInstanceArg' : 'PyInstance';
      this.#scope.use(helper);
      return `${helper}<${quote(name)}>`;
    }
    // Anything with the protocol's methods will do, plain data included (a list is Sized): nothing to check here.
    if (ref.shape === 'protocol' && direction === 'in') return 'unknown';
    const base = direction === 'in' ? ref.in : ref.out;
    if (ref.typeParams === 0) return base;
    const written = Array.from({ length: ref.typeParams }, (_, i) => recurse(args[i]));
    return `${base}<${written.join(', ')}>`;
  }
}

/** The typed array of a numpy scalar type named in `dtype[...]`, if it is numeric. */
function numpyTypedArray(scalar: PyType | undefined): string | undefined {
  if (scalar?.kind !== 'class' || !scalar.name.startsWith('numpy.')) return undefined;
  return NUMPY_TYPED_ARRAYS[scalar.name.slice('numpy.'.length)];
}

function isStringType(type: PyType): boolean {
  if (type.kind === 'class') return type.name === 'builtins.str' || type.name === 'numpy.str_';
  if (type.kind === 'literal') return type.values.every((value) => typeof value === 'string');
  if (type.kind === 'union') return type.options.every(isStringType);
  return false;
}

function mayBeString(type: PyType): boolean {
  if (type.kind === 'union') return type.options.some(mayBeString);
  return isStringType(type) || type.kind === 'typevar' || type.kind === 'unknown' || type.kind === 'alias';
}

/** Members joined with `|`, each once, in order; `unknown` absorbs the rest and `never` vanishes. */
export function union(members: readonly string[]): string {
  const unique = [...new Set(members.flatMap((member) => splitTopLevel(member)))].filter((m) => m !== 'never');
  if (unique.includes('unknown')) return 'unknown';
  if (unique.length === 0) return 'never';
  return unique.join(' | ');
}

/** The members of a union written at top level (`a | b<c | d>` is `a`, `b<c | d>`; `'|'` is one literal). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "'") i = endOfString(text, i);
    else if (char === '<' || char === '(' || char === '[' || char === '{') depth++;
    else if (char === '>' || char === ')' || char === ']' || char === '}') depth--;
    else if (char === '=' && text[i + 1] === '>') i++;
    else if (char === '|' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

/** The index of the quote closing the single-quoted string that opens at `open`. */
function endOfString(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === "'") return i;
  }
  return text.length;
}

/** A type usable before `[]`: unions and functions need parentheses. */
export function element(text: string): string {
  const compound = splitTopLevel(text).length > 1 || text.includes('=>') || text.startsWith('readonly ');
  return compound ? `(${text})` : text;
}

function maybePromise(result: string): string {
  return result === 'unknown' ? 'unknown' : `${result} | Promise<${result}>`;
}

// The type mapping, row by row (docs/typing.md): each Python type written as
// what it arrives as (results) and what may be sent for it (arguments),
// under the serializer that decides what travels by value.

import { describe, expect, it } from 'vitest';
import type { PyType } from '../src/typegen/introspection.js';
import { type ClassRef, type IntMapping, type MappingScope, TypeWriter } from '../src/typegen/type-mapping.js';

const cls = (name: string, ...args: PyType[]): PyType => ({ kind: 'class', name, args });
const INT = cls('builtins.int');
const STR = cls('builtins.str');
const FLOAT = cls('builtins.float');

function writer(
  options: {
    serializer?: string;
    ints?: IntMapping;
    classes?: Record<string, ClassRef>;
    aliases?: Record<string, string>;
  } = {},
) {
  const used = new Set<string>();
  const scope: MappingScope = {
    serializer: options.serializer ?? 'msgpack',
    ints: options.ints ?? 'number',
    classRef: (name) => options.classes?.[name],
    aliasRef: (name) =>
      options.aliases?.[name] === undefined ? undefined : { name: options.aliases[name], typeParams: 0 },
    typeVars: new Map([['T', 'T']]),
    use: (helper) => used.add(helper),
  };
  const typeWriter = new TypeWriter(scope);
  return {
    used,
    out: (type: PyType | null) => typeWriter.write(type, 'out').text,
    in: (type: PyType | null) => typeWriter.write(type, 'in').text,
    unknown: (type: PyType | null) => typeWriter.write(type, 'out').unknown,
  };
}

describe('the type mapping', () => {
  it('writes scalars as their JavaScript twins, ints as numbers that may also be sent as bigints', () => {
    const w = writer();
    expect([w.out(INT), w.in(INT)]).toEqual(['number', 'number | bigint']);
    expect([w.out(FLOAT), w.out(STR), w.out(cls('builtins.bool')), w.out({ kind: 'none' })]).toEqual([
      'number',
      'string',
      'boolean',
      'null',
    ]);
    expect([w.out(cls('builtins.bytes')), w.out(cls('datetime.datetime')), w.out(cls('datetime.date'))]).toEqual([
      'Uint8Array',
      'Date',
      'Date',
    ]);
  });

  it('types int results exactly as number | bigint when asked', () => {
    expect(writer({ ints: 'bigint' }).out(INT)).toBe('number | bigint');
  });

  it('writes sequences as arrays, read-only when sent; fixed tuples as tuples', () => {
    const w = writer();
    expect(w.out(cls('builtins.list', INT))).toBe('number[]');
    expect(w.in(cls('collections.abc.Sequence', STR))).toBe('readonly string[]');
    expect(w.out(cls('builtins.tuple', STR))).toBe('string[]');
    expect(w.out({ kind: 'tuple', items: [STR, INT] })).toBe('[string, number]');
    expect(w.in({ kind: 'tuple', items: [STR, INT] })).toBe('readonly [string, number | bigint]');
    expect(w.out(cls('builtins.list', { kind: 'union', options: [INT, STR] }))).toBe('(number | string)[]');
  });

  it('writes dicts with str keys as plain objects and other dicts as Maps', () => {
    const w = writer();
    expect(w.out(cls('builtins.dict', STR, INT))).toBe('Record<string, number>');
    expect(w.in(cls('collections.abc.Mapping', STR, FLOAT))).toBe(
      'Readonly<Record<string, number>> | ReadonlyMap<string, number>',
    );
    expect(w.out(cls('builtins.dict', INT, STR))).toBe('Map<number, string>');
    expect(w.out(cls('builtins.dict'))).toBe('Record<string, unknown> | Map<unknown, unknown>');
    expect(w.out(cls('builtins.dict', { kind: 'any' }, INT))).toBe('Record<string, number> | Map<unknown, number>');
  });

  it('writes sets as Sets and iterators as PyIterator handles', () => {
    const w = writer();
    expect(w.out(cls('builtins.frozenset', STR))).toBe('Set<string>');
    expect(w.in(cls('builtins.set', STR))).toBe('ReadonlySet<string>');
    expect(w.out(cls('collections.abc.Iterator', INT))).toBe('PyIterator<number>');
    expect(w.out(cls('collections.abc.Iterable', INT))).toBe('number[] | PyIterator<number>');
  });

  it('writes unions, optionals and literals', () => {
    const w = writer();
    expect(w.out({ kind: 'union', options: [INT, { kind: 'none' }] })).toBe('number | null');
    expect(w.out({ kind: 'literal', values: ['a', 1, true, null] })).toBe("'a' | 1 | true | null");
    expect(w.out({ kind: 'union', options: [INT, { kind: 'any' }] })).toBe('unknown');
  });

  it('writes numpy arrays as typed arrays or NDArrays by dtype, and other dtypes as handles', () => {
    const w = writer();
    const f64 = cls('numpy.ndarray', { kind: 'any' }, cls('numpy.dtype', cls('numpy.float64')));
    const u8 = cls('numpy.ndarray', { kind: 'any' }, cls('numpy.dtype', cls('numpy.uint8')));
    expect(w.out(f64)).toBe('PyArray<Float64Array>');
    expect(w.in(f64)).toBe('Float64Array | NDArray<Float64Array> | PyHandle');
    expect(w.out(u8)).toBe('NDArray<Uint8Array>');
    expect(w.out(cls('numpy.ndarray'))).toBe('PyArray | PyObject');
    expect(w.out(cls('numpy.float32'))).toBe('number');
    expect(w.out(cls('numpy.int64'))).toBe('number');
    expect(w.out({ kind: 'alias', name: 'numpy._typing._array_like.ArrayLike', args: [] })).toBe('NDArrayLike');
  });

  it('writes data frames as Arrow tables under the Arrow serializer and as handles under the others', () => {
    const frame = cls('pandas.core.frame.DataFrame');
    expect(writer({ serializer: 'arrow' }).out(frame)).toBe('Table');
    expect(writer({ serializer: 'arrow' }).in(cls('pyarrow.lib.Table'))).toBe('Table | PyHandle');
    expect(writer({ serializer: 'msgpack' }).out(frame)).toBe("PyInstance<'pandas.core.frame.DataFrame'>");
    expect(writer({ serializer: 'msgpack' }).in(frame)).toBe("PyInstanceArg<'pandas.core.frame.DataFrame'>");
  });

  it('writes a function sent to Python as a host callback and one received as a callable handle', () => {
    const w = writer();
    const callable: PyType = { kind: 'callable', params: [INT, STR], returns: FLOAT };
    expect(w.in(callable)).toBe('((arg0: number, arg1: string) => number | Promise<number>)');
    expect(w.out(callable)).toBe('PyCallable<[arg0: number | bigint, arg1: string], number>');
    expect(w.in({ kind: 'callable', params: null, returns: { kind: 'any' } })).toBe('((...args: never[]) => unknown)');
  });

  it("writes the file's classes by their declared names, and accepts anything for a protocol", () => {
    const classes: Record<string, ClassRef> = {
      'm.Greeter': {
        shape: 'handle',
        out: 'Greeter',
        in: 'Greeter',
        constructorName: 'GreeterConstructor',
        typeParams: 0,
      },
      'm.Stack': { shape: 'handle', out: 'Stack', in: 'Stack', constructorName: 'StackConstructor', typeParams: 1 },
      'm.Shape': { shape: 'protocol', out: 'Shape', in: 'Shape', constructorName: undefined, typeParams: 0 },
      'm.Stats': { shape: 'object', out: 'Stats', in: 'StatsInput', constructorName: undefined, typeParams: 0 },
    };
    const w = writer({ classes });
    expect(w.out(cls('m.Greeter'))).toBe('Greeter');
    expect(w.out(cls('m.Stack', STR))).toBe('Stack<string>');
    expect(w.out(cls('m.Stack'))).toBe('Stack<unknown>');
    expect([w.out(cls('m.Shape')), w.in(cls('m.Shape'))]).toEqual(['Shape', 'unknown']);
    expect(w.in(cls('typing.SupportsFloat'))).toBe('number | bigint | boolean | PyHandle');
    expect([w.out(cls('m.Stats')), w.in(cls('m.Stats'))]).toEqual(['Stats', 'StatsInput']);
    expect(w.out({ kind: 'type', of: cls('m.Greeter') })).toBe('GreeterConstructor');
  });

  it('marks what it could not type as unknown, for the coverage report', () => {
    const w = writer();
    expect(w.out({ kind: 'unknown', text: 'array-like of shape (n,)' })).toBe('unknown');
    expect(w.unknown({ kind: 'unknown', text: 'x' })).toBe(true);
    expect(w.unknown(null)).toBe(true);
    expect(w.unknown({ kind: 'any' })).toBe(false);
    expect(w.unknown({ kind: 'typevar', name: 'Missing' })).toBe(true);
  });

  it('notes the helpers it uses, for the file to import', () => {
    const w = writer();
    w.out(cls('collections.abc.Iterator', INT));
    w.in(cls('some.Class'));
    expect([...w.used].sort()).toEqual(['PyInstanceArg', 'PyIterator']);
  });
});

describe('unions of literals', () => {
  it('keep literals that contain |, < and > whole', () => {
    const w = writer();
    expect(w.out({ kind: 'literal', values: ['|', '<', '>', "'|'", 'a'] })).toBe("'|' | '<' | '>' | '\\'|\\'' | 'a'");
    expect(w.out(cls('builtins.list', { kind: 'literal', values: ['<', '|'] }))).toBe("('<' | '|')[]");
  });
});

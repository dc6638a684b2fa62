// Writes vectors/serializers/protobuf.json: the golden vectors of the protobuf
// serializer. Run it after a deliberate change to the format, review the diff,
// and check that pytest agrees (python/tests/test_protobuf_serializer.py):
//
//   pnpm exec tsx --conditions=@snakebridge/source packages/serializer-protobuf/test/generate-vectors.ts
//
// The bytes come from the TypeScript encoder, except where a vector gives them
// by hand (values only Python writes). vectors.test.ts then checks that they
// decode to their values, that TypeScript writes exactly them, and that they
// are what protobufjs's own reflection writes; pytest checks Python does too.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildValue, type Notation } from '@snakebridge/vectors';
import { ProtobufSerializer } from '../src/index.js';

export const VECTORS_DIR = fileURLToPath(new URL('../../../vectors/serializers/', import.meta.url));

/** The schema the schema'd vectors use. */
export const VECTOR_SCHEMA = {
  protoFiles: ['protobuf_vectors.proto'],
  callables: {
    'vectors.create_user': { request: 'vectors.CreateUser', response: 'vectors.User' },
    'vectors.count': { response: 'vectors.Total' },
  },
} as const;

interface Spec {
  readonly name: string;
  readonly value: Notation;
  readonly encode?: readonly ('ts' | 'py')[];
  readonly decoded?: Notation;
  readonly hex?: string;
  readonly context?: { readonly target: string; readonly role: 'args' | 'result' };
  readonly note?: string;
}

const int = (text: string | number): Notation => ({ int: String(text) });
const str = (text: string): Notation => ({ str: text });
const float = (text: string): Notation => ({ float: text });
const list = (...items: Notation[]): Notation => ({ list: items });
const dict = (...entries: [string, Notation][]): Notation => ({ dict: entries });
const big = (text: string): Notation => ({ bigint: text });

function nested(depth: number): Notation {
  let value: Notation = str('bottom');
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? list(value) : dict(['level', value]);
  return value;
}

const user = dict(
  ['id', int(7)],
  ['name', str('Ada')],
  ['age', int(36)],
  ['tags', list(str('admin'), str('ops'))],
  ['role', str('ROLE_ADMIN')],
  ['address', dict(['city', str('London')])],
  // Keys sort by UTF-8 bytes: '～' (U+FF5E) before '🐍' (U+1F40D), unlike UTF-16 order.
  [
    'scores',
    dict(['math', float('9.5')], ['🐍', float('2')], ['art', float('7.25')], ['～', float('3')], ['ünï', float('1')]),
  ],
  ['created', { date: '2024-02-29T12:34:56.789Z' }],
  ['avatar', { bytes: '89504e47' }],
  ['extra', dict(['any', list(int(1), str('two'), { null: null })])],
  [
    'labels',
    {
      map: [
        [int(10), str('ten')],
        [int(-2), str('minus two')],
      ],
    },
  ],
  ['email', str('ada@example.org')],
  ['deltas', list(int(-1), int(0), int(300))],
  ['visits', int(3)],
);

const SPECS: readonly Spec[] = [
  { name: 'null', value: { null: null } },
  { name: 'true', value: { bool: true } },
  { name: 'false', value: { bool: false } },
  { name: 'zero', value: int(0) },
  { name: 'small int', value: int(42) },
  { name: 'negative int', value: int(-7) },
  { name: 'max safe int', value: int('9007199254740991') },
  { name: 'min safe int', value: int('-9007199254740991') },
  { name: 'int beyond 2^53 is still an int64', value: int('9007199254740993') },
  { name: 'max int64', value: int('9223372036854775807') },
  { name: 'min int64', value: int('-9223372036854775808') },
  { name: 'int beyond int64 travels as big-endian bytes', value: int('18446744073709551616') },
  { name: 'negative big int', value: int('-1000000000000000000000000000000') },
  {
    name: 'small bigint from JavaScript',
    value: big('5'),
    encode: ['ts'],
    note: 'Python sends a small int as int_value, so only TypeScript writes this form; both read it',
  },
  { name: 'bigint -128 fits one byte', value: big('-128'), encode: ['ts'] },
  { name: 'float', value: float('1.5') },
  { name: 'float 0.1', value: float('0.1') },
  { name: 'negative float', value: float('-2.25') },
  { name: 'tiny float', value: float('1e-300') },
  {
    name: 'integral float from Python',
    value: float('2.0'),
    encode: ['py'],
    hex: '210000000000000040',
    note: 'JavaScript has one number type: it writes 2 as int_value',
  },
  { name: 'NaN', value: float('NaN') },
  { name: 'Infinity', value: float('Infinity') },
  { name: '-Infinity', value: float('-Infinity') },
  { name: 'negative zero', value: float('-0') },
  { name: 'empty string', value: str('') },
  { name: 'unicode string', value: str('ünïcödé 漢字 🐍') },
  { name: 'control characters and NUL', value: str('a\nb\t\u0001"\\\u0000') },
  { name: 'bytes', value: { bytes: '0001ff' } },
  { name: 'empty bytes', value: { bytes: '' } },
  { name: 'empty list', value: list() },
  { name: 'mixed list', value: list(int(1), str('a'), { null: null }, float('0.5'), { bool: true }) },
  { name: 'tuple arrives as a list', value: { tuple: [int(1), int(2)] }, decoded: list(int(1), int(2)) },
  { name: 'empty dict', value: dict() },
  { name: 'dict with string keys keeps their order', value: dict(['b', int(1)], ['a', str('x')], ['', int(0)]) },
  { name: 'dict with a __proto__ key keeps it as a key', value: dict(['__proto__', int(1)]) },
  { name: 'empty containers nested', value: dict(['l', list()], ['d', dict()], ['s', { set: [] }]) },
  {
    name: 'empty Map from JavaScript',
    value: { map: [] },
    encode: ['ts'],
    note: 'an empty dict in Python has no non-string keys, so Python writes a struct',
  },
  {
    name: 'dict with non-string keys is a map',
    value: {
      map: [
        [int(1), str('one')],
        [int(2), str('two')],
      ],
    },
  },
  {
    name: 'map with mixed keys',
    value: {
      map: [
        [str('a'), int(1)],
        [{ bool: true }, { null: null }],
      ],
    },
  },
  { name: 'set', value: { set: [int(1), int(2), int(3)] } },
  {
    name: 'set of mixed items',
    value: { set: [int(1), str('a')] },
    encode: ['ts'],
    note: 'Python orders a set by hash',
  },
  { name: 'date in UTC with milliseconds', value: { date: '2024-02-29T12:34:56.789Z' } },
  { name: 'date at the epoch', value: { date: '1970-01-01T00:00:00.000Z' } },
  { name: 'date before the epoch', value: { date: '1969-12-31T23:59:59.500Z' } },
  {
    name: 'float64 array',
    value: { ndarray: { dtype: 'float64', shape: [2], hex: '000000000000f83f00000000000000c0' } },
  },
  {
    name: '2-D int32 array',
    value: { ndarray: { dtype: 'int32', shape: [2, 2], hex: '01000000feffffff03000000ffffff7f' } },
  },
  { name: 'uint8 array', value: { ndarray: { dtype: 'uint8', shape: [3], hex: '0102ff' } } },
  {
    name: 'int64 array',
    value: { ndarray: { dtype: 'int64', shape: [2], hex: '0000000000000080ffffffffffffff7f' } },
  },
  { name: 'empty float32 array', value: { ndarray: { dtype: 'float32', shape: [0], hex: '' } } },
  { name: 'handle', value: { handle: { id: 3, type: 'pkg.Model' } } },
  { name: 'deep nesting', value: nested(64) },
  {
    name: 'request of a schema: positional args in field order, kwargs by name',
    context: { target: 'vectors.create_user', role: 'args' },
    value: list(list(str('Ada'), int(36)), dict(['tags', list(str('x'))], ['role', str('ROLE_MEMBER')])),
    decoded: {
      tuple: [
        list(),
        dict(['name', str('Ada')], ['age', int(36)], ['tags', list(str('x'))], ['role', str('ROLE_MEMBER')]),
      ],
    },
    note: 'Python receives the request as keyword arguments; unset fields with presence are left out',
  },
  {
    name: 'request of a schema with a nested message and an optional field set to its default',
    context: { target: 'vectors.create_user', role: 'args' },
    value: list(list(), dict(['nickname', str('')], ['address', dict(['city', str('Oslo')])])),
    decoded: {
      tuple: [
        list(),
        dict(
          ['name', str('')],
          ['age', int(0)],
          ['tags', list()],
          ['role', str('ROLE_UNSPECIFIED')],
          ['nickname', str('')],
          ['address', dict(['city', str('Oslo')], ['street', str('')])],
        ),
      ],
    },
  },
  {
    name: 'response of a schema with every kind of field',
    context: { target: 'vectors.create_user', role: 'result' },
    value: user,
    decoded: dict(
      ['id', big('7')],
      ['name', str('Ada')],
      ['age', int(36)],
      ['tags', list(str('admin'), str('ops'))],
      ['role', str('ROLE_ADMIN')],
      ['address', dict(['city', str('London')], ['street', str('')])],
      [
        'scores',
        dict(
          ['art', float('7.25')],
          ['math', float('9.5')],
          ['ünï', float('1')],
          ['～', float('3')],
          ['🐍', float('2')],
        ),
      ],
      ['created', { date: '2024-02-29T12:34:56.789Z' }],
      ['avatar', { bytes: '89504e47' }],
      ['extra', dict(['any', list(int(1), str('two'), { null: null })])],
      [
        'labels',
        {
          map: [
            [big('-2'), str('minus two')],
            [big('10'), str('ten')],
          ],
        },
      ],
      ['email', str('ada@example.org')],
      ['deltas', list(big('-1'), big('0'), big('300'))],
      ['visits', big('3')],
    ),
    note: 'map entries are written sorted by key, as deterministic serialization does',
  },
  {
    name: 'response of a schema with only defaults is an empty message',
    context: { target: 'vectors.count', role: 'result' },
    value: dict(['total', int(0)]),
    decoded: dict(['total', big('0')]),
  },
];

/** Builds the vector file from SPECS with the TypeScript encoder. */
export function generate(): object {
  const serializer = new ProtobufSerializer({ ...VECTOR_SCHEMA, baseDir: VECTORS_DIR });
  const vectors = SPECS.map((spec) => {
    const hex =
      spec.hex ??
      Buffer.from(
        serializer.encode(
          buildValue(spec.value),
          spec.context && { target: spec.context.target, role: spec.context.role },
        ),
      ).toString('hex');
    return {
      name: spec.name,
      ...(spec.context && { context: spec.context }),
      value: spec.value,
      hex,
      encode: spec.encode ?? ['ts', 'py'],
      ...(spec.decoded && { decoded: spec.decoded }),
      ...(spec.note && { note: spec.note }),
    };
  });
  return {
    serializer: 'protobuf',
    description:
      'Golden vectors of the protobuf serializer: each hex is one snakebridge.Value (snakebridge.proto). ' +
      "Vectors with a context are encoded for that callable's request or response (schema below). " +
      'See vectors/README.md for the value notation.',
    schema: {
      ...VECTOR_SCHEMA,
      descriptorSet: serializer.pythonOptions.descriptor_set,
      schemaHash: serializer.schemaHash,
    },
    vectors,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('protobuf.json', `file://${VECTORS_DIR}`), `${JSON.stringify(generate(), null, 2)}\n`);
  console.log(`wrote ${VECTORS_DIR}protobuf.json`);
}

// The value notation of vectors/README.md, with the Arrow values of
// vectors/serializers/arrow.json added, and a way to compare Arrow values by
// what they hold (schema and values) rather than by how they are laid out.
//
//   {"table": {"columns": [{"name", "type", "values"}, …]}}   an apache-arrow Table
//   {"recordBatch": {"columns": […]}}                          a RecordBatch
//   {"tableAs": {"form": "pandas", "table": {"columns": […]}}} tableAs(table, form)
//
// Column types: int64 (values as decimal strings), float64 (values as in the
// float notation: "1.5", "NaN", "-0"), utf8, bool; null for a null. Every field
// is nullable.

import { buildValue, type Notation } from '@snakebridge/vectors';
import {
  Bool,
  type DataType,
  Float64,
  Int64,
  RecordBatch,
  Table,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { type PythonTableForm, tableAs } from '../src/index.js';

export interface ColumnNotation {
  readonly name: string;
  readonly type: 'int64' | 'float64' | 'utf8' | 'bool';
  readonly values: readonly (string | boolean | null)[];
}

interface TableNotation {
  readonly columns: readonly ColumnNotation[];
}

const TYPES: Record<ColumnNotation['type'], () => DataType> = {
  int64: () => new Int64(),
  float64: () => new Float64(),
  utf8: () => new Utf8(),
  bool: () => new Bool(),
};

function cell(type: ColumnNotation['type'], value: string | boolean | null): unknown {
  if (value === null) return null;
  if (type === 'int64') return BigInt(value as string);
  if (type === 'float64') return value === '-0' ? -0 : Number(value);
  return value;
}

function column({ type, values }: ColumnNotation): Vector {
  return vectorFromArray(
    values.map((value) => cell(type, value)),
    TYPES[type](),
  );
}

function tableOf(notation: TableNotation): Table {
  return new Table(Object.fromEntries(notation.columns.map((c) => [c.name, column(c)])));
}

/** The TypeScript value for a notation, Arrow values included at any depth. */
export function buildArrowValue(notation: Notation): unknown {
  const [kind, raw] = Object.entries(notation)[0] as [string, unknown];
  switch (kind) {
    case 'table':
      return tableOf(raw as TableNotation);
    case 'recordBatch': {
      const { batches } = tableOf(raw as TableNotation);
      if (batches.length !== 1) throw new Error(`a record batch notation made ${batches.length} batches`);
      return batches[0];
    }
    case 'tableAs': {
      const { form, table } = raw as { form: PythonTableForm; table: TableNotation };
      return tableAs(tableOf(table), form);
    }
    case 'list':
    case 'tuple':
      return (raw as Notation[]).map(buildArrowValue);
    case 'dict':
      return Object.fromEntries((raw as [string, Notation][]).map(([key, value]) => [key, buildArrowValue(value)]));
    case 'map':
      return new Map((raw as [Notation, Notation][]).map(([key, value]) => [buildValue(key), buildArrowValue(value)]));
    default:
      return buildValue(notation);
  }
}

/** What an Arrow value holds, as plain data: schema (names, types, nullability) and column values. */
export interface ArrowContents {
  readonly arrow: 'Table' | 'RecordBatch';
  readonly schema: readonly { name: string; type: string; nullable: boolean }[];
  readonly numRows: number;
  readonly columns: Readonly<Record<string, readonly unknown[]>>;
}

function contentsOf(value: Table | RecordBatch): ArrowContents {
  return {
    arrow: value instanceof Table ? 'Table' : 'RecordBatch',
    schema: value.schema.fields.map((field) => ({
      name: field.name,
      type: String(field.type),
      nullable: field.nullable,
    })),
    numRows: value.numRows,
    columns: Object.fromEntries(
      value.schema.fields.map((field, i) => [field.name, [...(value.getChildAt(i) as Vector)]]),
    ),
  };
}

/** `value` with every Table and RecordBatch in it replaced by its contents, for deep comparison. */
export function arrowContents(value: unknown): unknown {
  if (value instanceof Table || value instanceof RecordBatch) return contentsOf(value);
  if (Array.isArray(value)) return value.map(arrowContents);
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [key, arrowContents(item)]));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, arrowContents(item)]));
  }
  return value;
}

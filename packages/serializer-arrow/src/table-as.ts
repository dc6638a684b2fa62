// Asks Python to receive one table argument in another form: a pandas or
// polars DataFrame, or numpy arrays, instead of a pyarrow Table. The form
// travels in the payload's form byte; the table itself travels unchanged.

import { isArrowRecordBatch, isArrowTable, type RecordBatch, type Table } from 'apache-arrow';
import { PYTHON_TABLE_FORMS, type PythonTableForm } from './payload.js';

const TABLE_AS = Symbol.for('@snakebridge/serializer-arrow/TableAs');

/** A table argument with the form Python should receive it in. Made by {@link tableAs}. */
export interface TableAs {
  readonly [TABLE_AS]: true;
  readonly value: Table | RecordBatch;
  readonly form: PythonTableForm;
}

// A class rather than a plain object: the serializer passes over plain objects without looking for Arrow values.
class TableAsArgument implements TableAs {
  readonly [TABLE_AS] = true as const;
  readonly value: Table | RecordBatch;
  readonly form: PythonTableForm;

  constructor(value: Table | RecordBatch, form: PythonTableForm) {
    this.value = value;
    this.form = form;
    Object.freeze(this);
  }
}

/**
 * Sends `value` so that Python receives it as `form`, whatever the worker's
 * default (`tablesAs`):
 *
 * - `'pyarrow'`: a `pyarrow.Table` (a `pyarrow.RecordBatch` for a batch);
 * - `'pandas'`: a `pandas.DataFrame` (`to_pandas()`; an index saved in the
 *   schema's pandas metadata is restored);
 * - `'polars'`: a `polars.DataFrame` (needs polars in the worker);
 * - `'numpy'`: a `dict` of column name to `numpy.ndarray`.
 *
 * Only arguments have a form: a result from Python is always an apache-arrow
 * Table or RecordBatch.
 *
 * @example await bridge.module('mymodule').summarize(tableAs(table, 'pandas'));
 */
export function tableAs(value: Table | RecordBatch, form: PythonTableForm): TableAs {
  if (!isArrowTable(value) && !isArrowRecordBatch(value)) {
    throw new TypeError('[arrow] tableAs() takes an apache-arrow Table or RecordBatch');
  }
  if (!PYTHON_TABLE_FORMS.includes(form)) {
    throw new TypeError(`[arrow] tableAs() form must be one of ${PYTHON_TABLE_FORMS.join(', ')}, not ${String(form)}`);
  }
  return new TableAsArgument(value, form);
}

/** True for what tableAs() returns, from any copy of this package. */
export function isTableAs(value: unknown): value is TableAs {
  return typeof value === 'object' && value !== null && (value as Partial<TableAs>)[TABLE_AS] === true;
}

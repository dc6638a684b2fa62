// The Arrow serializer: the msgpack envelope of @snakebridge/serializer-msgpack
// with one more extension type (85) whose payload is an Arrow IPC stream, and
// pyarrow on the Python side (python/snakebridge/serializers/arrow.py).
// apache-arrow Tables and RecordBatches travel anywhere in a value; everything
// else travels exactly as with the msgpack serializer. The README has the
// format and what is copied where.

import {
  ConfigError,
  type DecodeContext,
  type EncodeContext,
  SerializationError,
  type Serializer,
  type SerializerRecipe,
  SerializerWireId,
  type ValueKind,
} from '@snakebridge/core';
import { createMsgpackSerializer, type MsgpackSerializer } from '@snakebridge/serializer-msgpack';
import { isArrowRecordBatch, isArrowTable, type RecordBatch, type Table } from 'apache-arrow';
import { writeStream } from './ipc.js';
import {
  ARROW_EXT_TYPE,
  decodePayload,
  FORM_CODES,
  joinedPayload,
  PayloadKind,
  PYTHON_TABLE_FORMS,
  type PythonTableForm,
} from './payload.js';
import { type PendingStream, placeholderPayload, spliceStreams } from './splice.js';
import { isTableAs } from './table-as.js';

/** What becomes of a pandas DataFrame's index when Python sends the frame. */
export type PandasIndex = 'auto' | 'column' | 'drop';

export interface ArrowSerializerOptions {
  /**
   * The form Python receives table arguments in, unless `tableAs()` asks for
   * another: `'pyarrow'` (a `pyarrow.Table`), `'pandas'`, `'polars'` or
   * `'numpy'` (a dict of column name to ndarray). Sent to the worker in the
   * handshake.
   * @default 'pyarrow'
   */
  readonly tablesAs?: PythonTableForm | undefined;
  /**
   * What becomes of the index of a pandas DataFrame that Python sends:
   * `'auto'` keeps a default RangeIndex only in the schema's pandas metadata
   * and sends any other index as columns; `'column'` always sends it as
   * columns; `'drop'` leaves it out.
   * @default 'auto'
   */
  readonly pandasIndex?: PandasIndex | undefined;
}

const DEFAULTS = { tablesAs: 'pyarrow', pandasIndex: 'auto' } as const;
const PANDAS_INDEX: readonly PandasIndex[] = ['auto', 'column', 'drop'];

/** What one encode has met so far. */
interface EncodeRun {
  readonly pending: PendingStream[];
  /** A Map or Set was met: tables after it may be inside its payload, where a placeholder cannot be replaced. */
  nested: boolean;
}

/** Values ↔ msgpack, with apache-arrow Tables and RecordBatches as Arrow IPC streams. */
export class ArrowSerializer implements Serializer {
  readonly id = 'arrow';
  readonly wireId = SerializerWireId.arrow;
  readonly contentType = 'application/vnd.snakebridge.arrow+msgpack';
  readonly supports: ReadonlySet<ValueKind>;
  readonly pythonOptions: Readonly<Record<string, unknown>>;
  /**
   * How to build the same serializer in a worker thread: this module's
   * `createArrowSerializer`, with these options. The offloader keeps values
   * holding tables on the main thread (structured cloning would turn a Table
   * into a plain object), so only table-free payloads go to a thread.
   */
  readonly recipe: SerializerRecipe;
  /** The same as `recipe`. */
  readonly threadRecipe: SerializerRecipe;
  readonly #msgpack: MsgpackSerializer;
  #run: EncodeRun | undefined;

  constructor(options: ArrowSerializerOptions = {}) {
    const settings = checkOptions(options);
    this.pythonOptions = { tables_as: settings.tablesAs, pandas_index: settings.pandasIndex };
    this.threadRecipe = {
      module: import.meta.url,
      factory: 'createArrowSerializer',
      options: settings,
      binaryPassesThrough: true,
    };
    this.recipe = this.threadRecipe;
    this.#msgpack = createMsgpackSerializer({
      extensions: [
        {
          type: ARROW_EXT_TYPE,
          kind: 'arrowTable',
          accepts: (value) => this.#accepts(value),
          encode: (value) => this.#encodeExtension(value),
          decode: decodePayload,
        },
      ],
    });
    this.supports = this.#msgpack.supports;
  }

  encode(value: unknown, context?: EncodeContext): Uint8Array {
    const outer = this.#run;
    const run: EncodeRun = { pending: [], nested: false };
    this.#run = run;
    let message: Uint8Array;
    try {
      message = this.#msgpack.encode(value, context);
    } catch (error) {
      throw asArrowError(error);
    } finally {
      this.#run = outer;
    }
    if (run.pending.length === 0) return message;
    try {
      return spliceStreams(message, run.pending);
    } catch (error) {
      throw new SerializationError('arrow', `the tables could not be written: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
  }

  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    try {
      return this.#msgpack.decode(bytes, context);
    } catch (error) {
      throw asArrowError(error);
    }
  }

  // Asked by msgpack about every object of the value, parents before children.
  #accepts(value: object): boolean {
    const prototype = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === Array.prototype) return false; // the many, at once
    if (value instanceof Map || value instanceof Set) {
      (this.#run as EncodeRun).nested = true;
      return false;
    }
    return isArrowTable(value) || isArrowRecordBatch(value) || isTableAs(value);
  }

  #encodeExtension(value: object): Uint8Array {
    const run = this.#run as EncodeRun;
    // isArrowTable() and instanceof both know the Tables of another copy of apache-arrow too (a Symbol.for brand).
    const [arrow, form] = isTableAs(value) ? [value.value, FORM_CODES[value.form]] : [value as Table | RecordBatch, 0];
    const kind = isArrowTable(arrow) ? PayloadKind.table : PayloadKind.recordBatch;
    const stream = writeStream(arrow);
    if (run.nested) return joinedPayload(kind, form, stream);
    run.pending.push({ kind, form, stream });
    return placeholderPayload(run.pending.length - 1);
  }
}

function checkOptions(options: ArrowSerializerOptions): Required<{
  [K in keyof ArrowSerializerOptions]: NonNullable<ArrowSerializerOptions[K]>;
}> {
  const tablesAs = options.tablesAs ?? DEFAULTS.tablesAs;
  const pandasIndex = options.pandasIndex ?? DEFAULTS.pandasIndex;
  const issues = [];
  if (!PYTHON_TABLE_FORMS.includes(tablesAs)) {
    issues.push({
      field: 'arrow.tablesAs',
      message: `unknown table form ${String(tablesAs)}`,
      allowed: [...PYTHON_TABLE_FORMS],
    });
  }
  if (!PANDAS_INDEX.includes(pandasIndex)) {
    issues.push({
      field: 'arrow.pandasIndex',
      message: `unknown pandas index handling ${String(pandasIndex)}`,
      allowed: [...PANDAS_INDEX],
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { tablesAs, pandasIndex };
}

/** An error of the msgpack envelope, named as this serializer's. */
function asArrowError(error: unknown): unknown {
  if (!SerializationError.is(error) || error.serializer !== 'msgpack') return error;
  const prefix = `[msgpack] ${error.path === undefined ? '' : `at ${error.path}: `}`;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return new SerializationError('arrow', message, error.path, { cause: error.cause ?? error });
}

/** The Arrow serializer. */
export function createArrowSerializer(options: ArrowSerializerOptions = {}): ArrowSerializer {
  return new ArrowSerializer(options);
}

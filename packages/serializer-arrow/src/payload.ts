// The payload of the Arrow extension type: a small header, then an Arrow IPC
// stream. python/snakebridge/serializers/arrow.py reads and writes the same
// layout; vectors/serializers/arrow.json pins it.
//
// | offset | size | field                                                        |
// | 0      | 1    | kind: 0 table, 1 record batch                                |
// | 1      | 1    | form Python is asked to receive it in (0: its default)       |
// | 2      | 2    | offset of the IPC stream in the payload (u16, little-endian) |
// | 4      | …    | zero padding up to the offset                                |
// | offset | …    | an Arrow IPC stream: schema, batches, end-of-stream marker   |

import { type RecordBatch, type Table, tableFromIPC } from 'apache-arrow';
import type { ArrowStream } from './ipc.js';
import { checkArrowStream, InvalidArrow } from './ipc-check.js';

/** The msgpack extension type that carries Arrow values. */
export const ARROW_EXT_TYPE = 85;

/** What the IPC stream in a payload stands for. */
export const PayloadKind = { table: 0, recordBatch: 1 } as const;

/** The forms Python can receive a table in; see `tableAs` and the `tablesAs` option. */
export type PythonTableForm = 'pyarrow' | 'pandas' | 'polars' | 'numpy';

/** The form byte of each form; 0 leaves the choice to the worker's `tablesAs`. */
export const FORM_CODES: Readonly<Record<PythonTableForm, number>> = { pyarrow: 1, pandas: 2, polars: 3, numpy: 4 };

export const PYTHON_TABLE_FORMS: readonly PythonTableForm[] = ['pyarrow', 'pandas', 'polars', 'numpy'];

/** Kind, form and offset: the header before the padding. */
export const PAYLOAD_HEAD_BYTES = 4;

/**
 * Where TypeScript starts the stream in the payload. Python receives an
 * extension payload as a bytes object of its own (8-aligned), so a stream at
 * a multiple of 8 within the payload gives pyarrow aligned buffers.
 */
export const STREAM_OFFSET = 8;

/** The header and padding TypeScript writes before a stream. */
export function payloadHead(kind: number, form: number): Uint8Array {
  const head = new Uint8Array(STREAM_OFFSET);
  head[0] = kind;
  head[1] = form;
  head[2] = STREAM_OFFSET & 0xff;
  head[3] = STREAM_OFFSET >> 8;
  return head;
}

/** A whole payload in one buffer: what goes into a msgpack extension when the serializer cannot write it in place. */
export function joinedPayload(kind: number, form: number, stream: ArrowStream): Uint8Array {
  const payload = new Uint8Array(STREAM_OFFSET + stream.byteLength);
  payload.set(payloadHead(kind, form));
  let at = STREAM_OFFSET;
  for (const chunk of stream.chunks) {
    payload.set(chunk, at);
    at += chunk.byteLength;
  }
  return payload;
}

/**
 * The table or record batch a payload holds. Its columns view the payload's
 * bytes when the stream starts 8-aligned in its buffer (Python aligns it in
 * the message); apache-arrow copies a buffer that is not aligned.
 *
 * @throws RangeError naming what is wrong with the payload, which the msgpack
 *   envelope reports as a SerializationError.
 */
export function decodePayload(payload: Uint8Array): Table | RecordBatch {
  const { kind, stream } = readHead(payload);
  // apache-arrow trusts what it reads: the stream is checked first (see ipc-check.ts).
  let batches: number;
  try {
    batches = checkArrowStream(stream).batches;
  } catch (error) {
    if (!(error instanceof InvalidArrow)) throw error;
    throw new RangeError(`not a valid Arrow stream: ${error.message}`, { cause: error });
  }
  if (kind === PayloadKind.recordBatch && batches !== 1) {
    throw new RangeError(`a record batch payload holds ${batches} batches`);
  }
  const table = tableFromIPC(stream);
  if (kind === PayloadKind.table) return table;
  return table.batches[0] as RecordBatch;
}

/** The payload's kind, and its stream as a plain Uint8Array view (msgpackr hands over a Buffer when it decodes one). */
function readHead(payload: Uint8Array): { kind: number; stream: Uint8Array } {
  if (payload.byteLength < PAYLOAD_HEAD_BYTES) throw new RangeError('an Arrow payload header is cut short');
  const kind = payload[0] as number;
  const form = payload[1] as number;
  const offset = (payload[2] as number) | ((payload[3] as number) << 8);
  if (kind !== PayloadKind.table && kind !== PayloadKind.recordBatch) {
    throw new RangeError(`unknown Arrow payload kind ${kind}`);
  }
  if (form > PYTHON_TABLE_FORMS.length) throw new RangeError(`unknown table form ${form}`);
  if (offset < PAYLOAD_HEAD_BYTES || offset > payload.byteLength) {
    throw new RangeError('an Arrow payload header does not fit its payload');
  }
  return { kind, stream: new Uint8Array(payload.buffer, payload.byteOffset + offset, payload.byteLength - offset) };
}

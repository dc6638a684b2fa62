// Arrow values as IPC streams, kept as the chunks apache-arrow writes them in:
// the column buffers themselves, and the small metadata and padding between
// them. Nothing is copied until the chunks are written into the message.

import {
  AsyncByteQueue,
  type DataType,
  type RecordBatch,
  RecordBatchStreamWriter,
  type Table,
  DataType as Types,
} from 'apache-arrow';
import { ARROW_MAX_NESTING } from './ipc-check.js';

/** An Arrow IPC stream as a list of chunks, most of them views of column buffers. */
export interface ArrowStream {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
}

/**
 * The writer's sink: keeps each chunk as it is written rather than queueing
 * it for a reader, so the stream can be written out synchronously.
 */
class ChunkSink extends AsyncByteQueue {
  readonly chunks: Uint8Array[] = [];
  byteLength = 0;

  override write(value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.chunks.push(value);
    this.byteLength += value.byteLength;
  }
}

/**
 * The IPC stream of a table (its batches in order) or of one record batch.
 *
 * @throws Error for types nested deeper than the readers on both sides take (ARROW_MAX_NESTING).
 */
export function writeStream(value: Table | RecordBatch): ArrowStream {
  const depth = Math.max(0, ...value.schema.fields.map((field) => depthOf(field.type)));
  if (depth > ARROW_MAX_NESTING) throw new Error(`its types are nested ${depth} deep, more than ${ARROW_MAX_NESTING}`);
  const sink = new ChunkSink();
  const writer = new RecordBatchStreamWriter();
  writer.reset(sink);
  // A table without batches still writes its schema: write() starts the stream from the schema it is given.
  writer.write(value);
  writer.finish();
  if (sink.byteLength === 0) throw new Error('apache-arrow wrote nothing for this value');
  return { chunks: sink.chunks, byteLength: sink.byteLength };
}

/** How many fields deep a type nests in an IPC schema: 1 for a flat type (a dictionary's is its values'). */
function depthOf(type: DataType): number {
  const values = Types.isDictionary(type) ? type.dictionary : type;
  const children: readonly { type: DataType }[] = values.children ?? [];
  return 1 + Math.max(0, ...children.map((child) => depthOf(child.type)));
}

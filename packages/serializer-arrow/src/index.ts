// @snakebridge/serializer-arrow: the msgpack envelope with apache-arrow Tables
// and RecordBatches as Arrow IPC streams, pyarrow on the Python side.

export {
  ArrowSerializer,
  type ArrowSerializerOptions,
  createArrowSerializer,
  type PandasIndex,
} from './arrow-serializer.js';
export { containerModule } from './container.js';
export { ARROW_EXT_TYPE, PayloadKind, type PythonTableForm } from './payload.js';
export { isTableAs, type TableAs, tableAs } from './table-as.js';

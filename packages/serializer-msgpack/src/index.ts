// @snakebridge/serializer-msgpack: values ↔ msgpack, typed arrays ↔ numpy as raw bytes.

export { containerModule } from './container.js';
export { MsgpackExtType, RESERVED_EXT_TYPES } from './ext-types.js';
export type { MsgpackExtension } from './extension.js';
export { createMsgpackSerializer, MsgpackSerializer, type MsgpackSerializerOptions } from './msgpack-serializer.js';

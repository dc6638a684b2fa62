// @snakebridge/serializer-protobuf: protobufjs ↔ Python protobuf, with
// per-callable message schemas checked before a call is sent.

export { containerModule, options } from './container.js';
export { type ProtobufSettings, type ProtobufSettingsInput, protobufOptions } from './options.js';
export {
  createProtobufSerializer,
  type ProtobufPythonOptions,
  ProtobufSerializer,
  type ProtobufSerializerOptions,
} from './protobuf-serializer.js';
export type { CallableTypes, Schema } from './schema.js';
export { SNAKEBRIDGE_PROTO, SNAKEBRIDGE_PROTO_FILE } from './snakebridge-proto.js';

/** The environment variable that pins a worker to one schema hash (see README). */
export const SCHEMA_HASH_ENV = 'SNAKEBRIDGE_PROTOBUF_SCHEMA_HASH';
/** The environment variable that gives a worker its own FileDescriptorSet to compare with the host's. */
export const DESCRIPTORS_ENV = 'SNAKEBRIDGE_PROTOBUF_DESCRIPTORS';

// Wires the protobuf serializer into a SnakeBridge container (config
// `serializer: 'protobuf'`), with the schema from the config's `protobuf` section.

import { serializerModule } from '@snakebridge/core';
import { protobufOptions } from './options.js';
import { createProtobufSerializer } from './protobuf-serializer.js';

/** Binds SERIALIZER to a ProtobufSerializer built from CONFIG's `protobuf` section. */
export const containerModule = serializerModule(({ config }) =>
  createProtobufSerializer(protobufOptions.resolve(config)),
);

/** The config section this package reads (`protobuf`): core validates it when it loads the package. */
export const options = [protobufOptions];

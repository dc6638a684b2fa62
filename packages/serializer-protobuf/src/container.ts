// Wires the protobuf serializer into a SnakeBridge container (config
// `serializer: 'protobuf'`), with the schema from the config's `protobuf` section.

import { CONFIG, type ResolvedConfig, SERIALIZER, type Serializer } from '@snakebridge/core';
import { ContainerModule } from 'inversify';
import { createProtobufSerializer } from './protobuf-serializer.js';

/** Binds SERIALIZER to a ProtobufSerializer built from CONFIG's `protobuf` section. */
export const containerModule = new ContainerModule(({ bind }) => {
  bind<Serializer>(SERIALIZER).toDynamicValue((context) =>
    createProtobufSerializer(context.get<ResolvedConfig>(CONFIG).protobuf),
  );
});

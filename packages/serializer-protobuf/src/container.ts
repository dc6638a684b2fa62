// Wires the protobuf serializer into a SnakeBridge container (config
// `serializer: 'protobuf'`), with the schema from the config's `protobuf` section.

import { CONFIG, type ResolvedConfig, SERIALIZER, type Serializer } from '@snakebridge/core';
import { ContainerModule } from 'inversify';
import { protobufOptions } from './options.js';
import { createProtobufSerializer } from './protobuf-serializer.js';

/** Binds SERIALIZER to a ProtobufSerializer built from CONFIG's `protobuf` section. */
export const containerModule = new ContainerModule(({ bind }) => {
  bind<Serializer>(SERIALIZER).toDynamicValue((context) =>
    createProtobufSerializer(protobufOptions.resolve(context.get<ResolvedConfig>(CONFIG))),
  );
});

/** The config section this package reads (`protobuf`): core validates it when it loads the package. */
export const options = [protobufOptions];

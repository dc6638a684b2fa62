// Wires the msgpack serializer into a SnakeBridge container; loaded by
// createBridge when the config says `serializer: 'msgpack'`.

import { SERIALIZER, type Serializer } from '@snakebridge/core';
import { ContainerModule } from 'inversify';
import { createMsgpackSerializer } from './msgpack-serializer.js';

/** Binds SERIALIZER to a MsgpackSerializer. */
export const containerModule = new ContainerModule(({ bind }) => {
  bind<Serializer>(SERIALIZER).toDynamicValue(() => createMsgpackSerializer());
});

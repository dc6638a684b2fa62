// Wires the msgpack serializer into a SnakeBridge container; loaded by
// createBridge when the config says `serializer: 'msgpack'`.

import { serializerModule } from '@snakebridge/core';
import { createMsgpackSerializer } from './msgpack-serializer.js';

/** Binds SERIALIZER to a MsgpackSerializer. */
export const containerModule = serializerModule(() => createMsgpackSerializer());
